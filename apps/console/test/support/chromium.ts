import { existsSync } from 'node:fs';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it when missing). Never downloaded by npm. */
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export const chromiumMissing = (): boolean => !existsSync(CHROMIUM);

/**
 * `describe` when Chromium is installed; otherwise `describe.skip`, and the file says plainly
 * (once, on stderr, without jest's decorations) that its browser tests were not run.
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (chromiumMissing()) {
    process.stderr.write(`browser tests NOT run: ${CHROMIUM} is missing (apt-get install chromium)\n`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}
