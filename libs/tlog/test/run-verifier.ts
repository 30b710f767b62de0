import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The offline verifier's entry point in this checkout, run with plain node (no build). */
export const VERIFIER_BIN = join(__dirname, '../../../apps/verify/bin/conversation-audit-verify.js');

/** Runs the offline verifier as a child process; resolves with its exit code and output. */
export function runVerifier(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFIER_BIN, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
