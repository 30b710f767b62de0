// @ts-check
'use strict';
const fs = require('node:fs');
const { verifyBundle } = require('./verify-bundle');
const { parseVerifierKey } = require('./note');

const USAGE = `usage: conversation-audit-verify [--key <vkey> | --key-file <file>] [--json] <bundle directory or .tar>

Checks an audit bundle of the conversation service offline: the manifest's and the checkpoint's Ed25519
signatures, every event's hash chain, an inclusion proof of each conversation's last event up to the signed
tree root, and every file's SHA-256. Exit 0: verified; 1: a check failed (the first failure is named);
2: wrong usage.
  --key <vkey>       the log's verifier key (<origin>+<key id>+<base64>), as published by the log's operator
  --key-file <file>  the same, read from a file
  --json             a machine-readable report on stdout`;

/**
 * @param {string[]} argv
 * @param {{ out: (s: string) => void, err: (s: string) => void }} io
 * @returns {Promise<number>} the exit code
 */
async function main(argv, io) {
  /** @type {string | undefined} */
  let key;
  let json = false;
  /** @type {string[]} */
  const rest = [];
  try {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === '--help' || arg === '-h') {
        io.out(USAGE);
        return 0;
      } else if (arg === '--json') json = true;
      else if (arg === '--key' || arg === '--key-file') {
        const value = argv[++i];
        if (value === undefined) throw new Error(`${arg} needs a value`);
        if (key !== undefined) throw new Error('give the key once (--key or --key-file)');
        key = arg === '--key' ? value.trim() : fs.readFileSync(value, 'utf8').trim();
      } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
      else rest.push(arg);
    }
    if (rest.length !== 1) throw new Error('give one bundle directory or tar file');
    if (key !== undefined) parseVerifierKey(key);
  } catch (err) {
    io.err(`conversation-audit-verify: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const report = await verifyBundle(rest[0], { pinnedKey: key });
  io.out(json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.verified ? 0 : 1;
}

/** @param {import('./verify-bundle').Report} r */
function formatReport(r) {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const lines = [`bundle ${r.bundle}`];
  for (const c of r.checks) {
    const status = c.ok ? 'ok    ' : 'FAILED';
    const more = c.problems > 1 ? ` (and ${c.problems - 1} more)` : '';
    lines.push(`${status} ${c.name.padEnd(width)}  ${c.ok ? c.detail : `${c.failure}${more}`}`);
  }
  const passed = r.checks.filter((c) => c.ok).length;
  lines.push(
    `totals: ${r.checks.length} checks, ${passed} passed, ${r.checks.length - passed} failed; ` +
      `${r.events} events in ${r.streams} streams; tree size ${r.treeSize ?? '?'}, root ${r.rootHash ?? '?'}`,
  );
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  lines.push(r.verified ? 'verified' : `FAILED: ${r.failure}`);
  return lines.join('\n');
}

module.exports = { main, formatReport, USAGE };
