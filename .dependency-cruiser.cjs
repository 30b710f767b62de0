// Boundaries of the code base, checked in `npm run lint` (depcruise apps libs migrations).
// apps depend on libs, never the other way; no app imports another (the bench starts the API's
// built dist/ as a process, it does not import it); the domain imports nothing of ours.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be read, tested or moved alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'libs-not-to-apps',
      severity: 'error',
      comment: 'apps depend on libs, never back: a lib that needs something of an app needs it moved into a lib.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-app-to-other-app',
      severity: 'error',
      comment: 'An app imports no other app (the CLI nothing of apps/api): what two apps share lives in a lib.',
      from: { path: '^apps/([^/]+)/', pathNot: '^apps/console/test/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'console-browser-tests-drive-the-api',
      severity: 'error',
      comment:
        "The console's browser tests start the real service in process (createApp, as the API's e2e tests do): " +
        'apps/console/test may import apps/api/src, and nothing else of another app.',
      from: { path: '^apps/console/test/' },
      to: { path: '^apps/', pathNot: ['^apps/console/', '^apps/api/src/'] },
    },
    {
      name: 'no-other-app-test-support',
      severity: 'error',
      comment: "Tests do not reach into another app's test support: shared helpers live in libs/testing.",
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/[^/]+/test/support/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-app-test-support-outside-apps',
      severity: 'error',
      comment: "Tests of libs do not reach into an app's test support: shared helpers live in libs/testing.",
      from: { pathNot: '^apps/' },
      to: { path: '^apps/[^/]+/test/support/' },
    },
    {
      name: 'conversation-is-pure',
      severity: 'error',
      comment:
        'libs/conversation is plain functions over plain data: ' +
        'it imports nothing but itself (no framework, no pg, no I/O).',
      from: { path: '^libs/conversation/src/', pathNot: '\\.spec\\.ts$' },
      to: { pathNot: '^libs/conversation/src/' },
    },
    {
      name: 'tlog-is-pure',
      severity: 'error',
      comment:
        'libs/tlog is the Merkle tree, notes and checkpoints over plain bytes: ' +
        'it imports nothing but itself and node built-ins (no database, no framework).',
      from: { path: '^libs/tlog/src/', pathNot: '\\.spec\\.ts$' },
      to: { pathNot: '^libs/tlog/src/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment:
        'libs/client is the typed HTTP client internal API consumers and the console use: it knows the ' +
        'service only through its OpenAPI document (no server code, no Node built-ins: it runs in browsers).',
      from: { path: '^libs/client/src/', pathNot: '\\.(int-|e2e-)?spec\\.ts$' },
      to: { pathNot: ['^libs/client/src/', 'node_modules/openapi-fetch'] },
    },
    {
      name: 'console-uses-only-the-client',
      severity: 'error',
      comment:
        'apps/console is a browser app: of this repository it imports only libs/client (the typed client of the ' +
        "OpenAPI document), and no Node built-ins (its tests may read libs/tlog's published test vectors).",
      from: { path: '^apps/console/src/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(libs/(?!client/src/)|migrations/|apps/(?!console/))' },
    },
    {
      name: 'console-no-node-built-ins',
      severity: 'error',
      comment: 'apps/console runs in browsers: no Node built-ins outside its tests and its build configuration.',
      from: { path: '^apps/console/src/', pathNot: '\\.spec\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'verify-is-independent',
      severity: 'error',
      comment:
        'apps/verify is a second implementation of the checks: it imports no code of the service (it would ' +
        'share its bugs), only itself, node built-ins and json-canonicalize.',
      from: { path: '^apps/verify/(src|bin)/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: ['^apps/verify/(src|bin)/', '^node_modules/json-canonicalize/'],
      },
    },
    {
      name: 'event-store-knows-no-domain',
      severity: 'error',
      comment: 'The event store is a library with no domain knowledge.',
      from: { path: '^libs/event-store/' },
      to: { path: '^(apps|libs/(conversation|projections|audit))/' },
    },
    {
      name: 'migrations-not-to-apps',
      severity: 'error',
      comment: 'Migrations are the schema: they import no app.',
      from: { path: '^migrations/' },
      to: { path: '^apps/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing (a typo, or a package missing from package.json).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|data|coverage)/' },
    // Type-only imports are dependencies too.
    tsPreCompilationDeps: true,
    // The @app/* paths.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
