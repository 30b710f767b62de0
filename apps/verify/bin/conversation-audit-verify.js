#!/usr/bin/env node
// @ts-check
'use strict';
// Offline verifier of the conversation service's audit bundles (apps/verify/README.md).
// Runs from a checkout with no build: node apps/verify/bin/conversation-audit-verify.js <bundle>
const { main } = require('../src/cli');

main(process.argv.slice(2), {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`conversation-audit-verify: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
