import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import { eventually, launch, openTab, settled, signIn, type Tab } from './support/browser';
import { seedWorld, type World } from './support/seed';
import { type ConsoleService, startConsoleService } from './support/service';
import { goto, textOf, VIEWS } from './support/views';
import { readTar } from '../src/export/tar';

jest.setTimeout(120_000);

/** The manifest line is last: its sha256 covers every byte before it. */
function bytesBeforeLastLine(file: Buffer): Buffer {
  const end = file.at(-1) === 0x0a ? file.length - 1 : file.length;
  return file.subarray(0, file.lastIndexOf(0x0a, end - 1) + 1);
}

/** The names of the files of a ustar archive (512-byte headers; the name is the first 100 bytes). */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    expect(header.subarray(257, 262).toString('latin1')).toBe('ustar');
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    names.push(name);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

/** console-shared.md "Compliance", "Sample", "Export". */
describeInBrowser('Console: compliance, sample and export', () => {
  let s: ConsoleService;
  let world: World;
  let browser: Browser;
  let t: Tab;
  const range = () => ({ from: world.from, to: world.to });

  beforeAll(async () => {
    s = await startConsoleService();
    // One end of globex appended behind the domain's back: no redirection before it.
    world = await seedWorld(s, { forgedEnd: true });
    browser = await launch();
    t = await openTab(browser);
    await signIn(t, s.baseUrl, s.keys.auditor);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  describe('compliance', () => {
    it('names the end that breaks its own policy version, with the failing rule', async () => {
      await goto(t.page, s.baseUrl, VIEWS.compliance, range());
      const rows = t.page.locator('[data-testid="compliance-row"]');
      await eventually(async () => expect(await rows.count()).toBe(1));
      const text = await textOf(rows.first());
      const forged = world.ends.find((e) => e.forged)!;
      expect(text).toMatch(/INSUFFICIENT_REDIRECTION|redirection/i);
      expect(await rows.first().getAttribute('data-conversation-id')).toBe(forged.conversationId);
      const links = t.page.locator('[data-testid="compliance-row"] a[href]');
      expect(await links.count()).toBe(1);
      expect(new URL((await links.first().getAttribute('href'))!, s.baseUrl).pathname).toBe(
        `/console/conversations/${forged.conversationId}`,
      );
      expect(await textOf(t.page.locator('main'))).not.toContain('Every end satisfies its own policy version.');
    });

    it("follows the filter bar: the end's reason code, model, policy version and time go to the API", async () => {
      const rows = t.page.locator('[data-testid="compliance-row"]');
      const empty = t.page.getByText('Every end satisfies its own policy version.');
      const cases: [Record<string, string>, number][] = [
        [{ reasonCode: 'SPAM_FLOOD' }, 0],
        [{ reasonCode: 'ABUSE_OF_ASSISTANT' }, 1],
        [{ modelId: 'some-other-model' }, 0],
        [{ modelId: 'claude-opus-4-1', policyVersion: '1' }, 1],
        [{ policyVersion: '2' }, 0],
        [{ from: '2020-01-01', to: '2020-01-02' }, 0],
      ];
      for (const [filters, count] of cases) {
        const before = t.urls.length;
        await goto(t.page, s.baseUrl, VIEWS.compliance, { ...range(), ...filters });
        if (count === 0) await empty.waitFor();
        else await eventually(async () => expect(await rows.count()).toBe(count));
        expect(await rows.count()).toBe(count);
        const asked = t.urls.slice(before).filter((u) => new URL(u).pathname === '/v1/audit/compliance');
        expect(asked.length).toBeGreaterThan(0);
        const params = new URL(asked.at(-1)!).searchParams;
        for (const [name, value] of Object.entries(filters)) {
          if (name === 'to') expect(params.get('to')).toBe('2020-01-03');
          else expect(params.get(name)).toBe(value);
        }
      }
    });

    it('says so when every end satisfies its policy (a tenant without the broken end)', async () => {
      const acme = await openTab(browser);
      try {
        await signIn(acme, s.baseUrl, s.keys.acmeAuditor, `${VIEWS.compliance}?from=${world.from}&to=${world.to}`);
        await acme.page.getByText('Every end satisfies its own policy version.').waitFor();
        expect(await acme.page.locator('[data-testid="compliance-row"]').count()).toBe(0);
      } finally {
        await acme.close();
      }
    });
  });

  describe('sample', () => {
    it('draws a sample for a seed: the seed shown and in the URL, the same rows after a reload', async () => {
      await goto(t.page, s.baseUrl, VIEWS.sample, range());
      await t.page.getByLabel('Seed', { exact: true }).fill('review-session-7');
      await t.page.getByLabel('Size', { exact: true }).fill('4');
      await t.page.getByRole('button', { name: 'Draw sample' }).click();
      await t.page.waitForURL((url) => url.searchParams.get('seed') === 'review-session-7');
      await settled(t.page);
      const rows = t.page.locator('[data-testid="sample-row"]');
      await eventually(async () => expect(await rows.count()).toBe(4));
      expect(await textOf(t.page.locator('[data-testid="sample-seed"]'))).toContain('review-session-7');
      const first = await rows.allInnerTexts();

      await t.page.reload();
      await settled(t.page);
      await eventually(async () => expect(await rows.count()).toBe(4));
      expect(await rows.allInnerTexts()).toEqual(first);
      expect(await textOf(t.page.locator('[data-testid="sample-seed"]'))).toContain('review-session-7');
    });

    it("opens a sample row's conversation with a click, with Enter, and by its link", async () => {
      const sampleUrl = `${VIEWS.sample}?from=${world.from}&to=${world.to}&seed=open-rows&size=3`;
      const rows = t.page.locator('[data-testid="sample-row"]');
      const backToSample = async () => {
        await t.page.goto(`${s.baseUrl}${sampleUrl}`);
        await settled(t.page);
        await eventually(async () => expect(await rows.count()).toBe(3));
      };
      const opened = async (id: string | null) => {
        await t.page.waitForURL((url) => url.pathname === `/console/conversations/${id}`);
        // The filters go along.
        expect(new URL(t.page.url()).searchParams.get('from')).toBe(world.from);
        await t.page.locator('[data-testid="message-tree"]').waitFor();
      };

      await backToSample();
      const first = rows.nth(0);
      const firstId = await first.getAttribute('data-conversation-id');
      await first.locator('td').first().click();
      await opened(firstId);

      await backToSample();
      const second = rows.nth(1);
      const secondId = await second.getAttribute('data-conversation-id');
      await second.focus();
      await t.page.keyboard.press('Enter');
      await opened(secondId);

      await backToSample();
      const third = rows.nth(2);
      const thirdId = await third.getAttribute('data-conversation-id');
      const link = third.getByRole('link');
      expect(await link.getAttribute('href')).toMatch(new RegExp(`^/console/conversations/${thirdId}\\?`));
      await link.click();
      await opened(thirdId);
    });
  });

  describe('export', () => {
    it('shows progress; the manifest SHA-256 equals the browser-computed one and the downloaded file', async () => {
      await goto(t.page, s.baseUrl, VIEWS.export, range());
      await t.page.getByRole('button', { name: 'Start export' }).click();
      const manifest = t.page.locator('[data-testid="export-manifest-sha256"]');
      const computed = t.page.locator('[data-testid="export-computed-sha256"]');
      await manifest.waitFor({ timeout: 30_000 });
      const progress = await textOf(t.page.locator('[data-testid="export-progress"]'));
      // One line per end and the manifest; the bytes received.
      expect(progress).toMatch(new RegExp(`\\b${world.ends.length + 1} lines\\b`));
      expect(progress).toMatch(/\d[\d,]* bytes/);
      const shown = (await textOf(manifest)).match(/[0-9a-f]{64}/)?.[0];
      expect(shown).toBeDefined();
      expect((await textOf(computed)).match(/[0-9a-f]{64}/)?.[0]).toBe(shown);

      const [download] = await Promise.all([
        t.page.waitForEvent('download'),
        t.page.getByRole('link', { name: 'Download' }).click(),
      ]);
      const file = readFileSync((await download.path())!);
      expect(progress.replace(/,/g, '')).toContain(`${file.length} bytes`);
      const body = bytesBeforeLastLine(file);
      expect(createHash('sha256').update(body).digest('hex')).toBe(shown);
      const manifestLine = JSON.parse(file.subarray(body.length).toString('utf8'));
      expect(manifestLine).toMatchObject({ type: 'manifest', count: world.ends.length, sha256: shown });
      expect(body.toString('utf8').trim().split('\n')).toHaveLength(world.ends.length);
    });

    it('downloads the signed bundle as a tar holding manifest.json', async () => {
      await goto(t.page, s.baseUrl, VIEWS.export, range());
      await t.page.getByLabel('Signed bundle (tar)').check();
      await t.page.getByRole('button', { name: 'Start export' }).click();
      const link = t.page.getByRole('link', { name: 'Download' });
      await link.waitFor({ timeout: 30_000 });
      const [download] = await Promise.all([t.page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toMatch(/\.tar$/);
      const file = readFileSync((await download.path())!);
      const names = tarNames(file);
      expect(names).toEqual(expect.arrayContaining(['manifest.json', 'manifest.sig', 'events.ndjson']));
      expect(await textOf(t.page.locator('[data-testid="export-progress"]'))).toContain(
        `${file.length.toLocaleString('en-GB')} bytes`,
      );
    });

    it("reads the signed bundle (tar) here: manifest.json's SHA-256 of events.ndjson beside its own", async () => {
      await goto(t.page, s.baseUrl, VIEWS.export, range());
      await t.page.getByLabel('Signed bundle (tar)').check();
      await t.page.getByRole('button', { name: 'Start export' }).click();
      const manifest = t.page.locator('[data-testid="export-manifest-sha256"]');
      await manifest.waitFor({ timeout: 30_000 });
      const shown = (await textOf(manifest)).match(/^[0-9a-f]{64}$/)?.[0];
      expect(shown).toBeDefined();
      expect(await textOf(t.page.locator('[data-testid="export-computed-sha256"]'))).toBe(shown);
      expect(await textOf(t.page.locator('[data-testid="export-bundle-result"]'))).toMatch(/^match: \d+ events/);

      const [download] = await Promise.all([
        t.page.waitForEvent('download'),
        t.page.getByRole('link', { name: 'Download' }).click(),
      ]);
      const entries = readTar(new Uint8Array(readFileSync((await download.path())!)));
      const events = entries.find((e) => e.name === 'events.ndjson')!.data;
      expect(createHash('sha256').update(events).digest('hex')).toBe(shown);
      const listed = JSON.parse(Buffer.from(entries.find((e) => e.name === 'manifest.json')!.data).toString('utf8'));
      expect(listed.files['events.ndjson']).toBe(shown);
    });
  });

  describe('loading and empty states', () => {
    it('shows the loading state (aria-busy on the main region) while the ends are on their way', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      await t.page.route(
        (url) => url.pathname === '/v1/audit/ends',
        async (route) => {
          await held;
          await route.continue();
        },
      );
      try {
        await t.page.goto(`${s.baseUrl}${VIEWS.ends}?from=${world.from}&to=${world.to}`);
        await t.page.locator('main[aria-busy="true"]').waitFor();
        await t.page.getByRole('status').filter({ hasText: 'Loading the ends' }).waitFor();
        expect(await t.page.locator('[data-testid="end-row"]').count()).toBe(0);
        release();
        await t.page.locator('[data-testid="end-row"]').first().waitFor();
        await t.page.locator('main[aria-busy="false"]').waitFor();
      } finally {
        release();
        await t.page.unroute((url) => url.pathname === '/v1/audit/ends');
      }
    });

    it('shows the empty state for a filter that matches nothing', async () => {
      await goto(t.page, s.baseUrl, VIEWS.ends, { from: '2001-01-01', to: '2001-01-02' });
      await t.page.getByText('No ends match these filters.').waitFor();
      expect(await t.page.locator('[data-testid="end-row"]').count()).toBe(0);
      expect(await t.page.getByRole('alert').count()).toBe(0);
    });
  });
});
