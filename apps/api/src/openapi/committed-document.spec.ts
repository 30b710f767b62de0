import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@app/platform';
import { createApp } from '../app.factory';
import { buildOpenApiDocument } from './openapi-document';

const ROOT = join(__dirname, '..', '..', '..', '..');
const COMMITTED_DOCUMENT = join(ROOT, 'docs', 'openapi.json');
const COMMITTED_SCHEMA = join(ROOT, 'libs', 'client', 'src', 'schema.ts');
const RUN = 'run `npm run openapi` and commit docs/openapi.json and libs/client/src/schema.ts';

/**
 * The committed OpenAPI document and the client's types are generated: each must be what
 * `npm run openapi` writes today, else a consumer (the console, @app/client) codes against an
 * API that is not the one served.
 */
describe('The committed OpenAPI document and client schema', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    // As write-openapi.ts builds it: never initialised, no database.
    app = await createApp({
      config: loadConfig({ LOG_LEVEL: 'silent' }),
      databaseUrl: 'postgres://openapi@127.0.0.1:1/none',
      logger: false,
      documentOnly: true,
    });
  });
  afterAll(() => app.close());

  it(`docs/openapi.json is the document the code builds (else ${RUN})`, () => {
    const built = `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
    const committed = readFileSync(COMMITTED_DOCUMENT, 'utf8');
    // Compared as text, so that the first differing line is what jest shows.
    expect(committed).toBe(built);
  });

  it(`libs/client/src/schema.ts is what openapi-typescript generates from it (else ${RUN})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-schema-'));
    try {
      const out = join(dir, 'schema.ts');
      const cli = join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
      execFileSync(process.execPath, [cli, COMMITTED_DOCUMENT, '-o', out], { cwd: ROOT, stdio: 'pipe' });
      expect(readFileSync(COMMITTED_SCHEMA, 'utf8')).toBe(readFileSync(out, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
