import type { Browser } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import {
  cspRefusals,
  cspViolations,
  eventually,
  expectAccessible,
  expectKeyInNoUrl,
  launch,
  openTab,
  screenshot,
  settled,
  signIn,
  type Tab,
  WIDTHS,
} from './support/browser';
import { eraseSubjectWithHolds, seedWorld, subjectOfConversation, type World } from './support/seed';
import { type ConsoleService, startConsoleService } from './support/service';
import { goto, VIEWS } from './support/views';

jest.setTimeout(240_000);

/**
 * Every view at 1280 and 390 px: screenshots into docs/screenshots/<view>-<width>.png, axe-core with
 * no serious or critical violation, nothing refused by the CSP, no page wider than the window.
 */
describeInBrowser('Console: every view', () => {
  let s: ConsoleService;
  let world: World;
  let browser: Browser;

  beforeAll(async () => {
    s = await startConsoleService();
    world = await seedWorld(s, { forgedEnd: true });
    // The conversation view shows an erased conversation with its holds (a released one, an open one).
    await eraseSubjectWithHolds(s, await subjectOfConversation(s, world.branched.conversationId));
    await s.signedCheckpoint();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  /** Each view as an auditor sees it with the seeded data, made ready (a sample drawn, an export done). */
  const views: [string, (t: Tab) => Promise<void>][] = [
    ['overview', (t) => goto(t.page, s.baseUrl, VIEWS.overview, range())],
    ['ends', (t) => goto(t.page, s.baseUrl, VIEWS.ends, range())],
    ['blocked', (t) => goto(t.page, s.baseUrl, VIEWS.blocked, range())],
    [
      'conversation',
      async (t) => {
        await goto(t.page, s.baseUrl, `/console/conversations/${world.branched.conversationId}`);
        await t.page.locator('[data-testid="hold"]').first().waitFor();
        await t.page
          .locator('[data-testid="proof-status"]')
          .filter({ hasText: /verified/i })
          .waitFor();
      },
    ],
    ['compliance', (t) => goto(t.page, s.baseUrl, VIEWS.compliance, range())],
    [
      'sample',
      async (t) => {
        await goto(t.page, s.baseUrl, VIEWS.sample, { ...range() });
        await t.page.getByLabel('Seed', { exact: true }).fill('screenshot-seed');
        await t.page.getByLabel('Size', { exact: true }).fill('5');
        await t.page.getByRole('button', { name: 'Draw sample' }).click();
        await t.page.locator('[data-testid="sample-row"]').first().waitFor();
        await settled(t.page);
      },
    ],
    [
      'export',
      async (t) => {
        await goto(t.page, s.baseUrl, VIEWS.export, range());
        await t.page.getByRole('button', { name: 'Start export' }).click();
        await t.page.locator('[data-testid="export-computed-sha256"]').waitFor({ timeout: 30_000 });
      },
    ],
  ];
  const range = () => ({ from: world.from, to: world.to });

  it('serves the CSP that the checks rely on: an inline style is refused, and the refusal is seen', async () => {
    const t = await openTab(browser);
    try {
      await t.page.goto(`${s.baseUrl}/console/sign-in`);
      await t.page.getByLabel('API key').waitFor();
      expect(cspRefusals(t)).toEqual([]);
      expect(await cspViolations(t.page)).toEqual([]);
      await t.page.evaluate(`document.body.setAttribute('style', 'color: red')`);
      await eventually(async () => {
        expect(cspRefusals(t)).toEqual([expect.stringMatching(/style-src 'self'/)]);
        expect(await cspViolations(t.page)).toEqual([expect.stringMatching(/^style-src-attr inline/)]);
      });
    } finally {
      await t.close();
    }
  });

  describe.each(WIDTHS)('at %i px', (width) => {
    let t: Tab;
    beforeAll(async () => {
      t = await openTab(browser, width);
    });
    afterAll(() => t.close());

    it('sign-in', async () => {
      await t.page.goto(`${s.baseUrl}/console/sign-in`);
      await t.page.getByLabel('API key').waitFor();
      await screenshot(t.page, 'sign-in', width);
      await expectAccessible(t.page, `sign-in at ${width}`);
      await signIn(t, s.baseUrl, s.keys.auditor);
    });

    it.each(views.map(([name]) => name))('%s', async (name) => {
      await views.find(([n]) => n === name)![1](t);
      await screenshot(t.page, name, width);
      expect(await cspViolations(t.page)).toEqual([]);
      await expectAccessible(t.page, `${name} at ${width}`);
      const overflow = (await t.page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect({ view: name, overflowPx: overflow }).toEqual({ view: name, overflowPx: 0 });
    });

    it('refused nothing under the CSP, and never put the key in a URL', async () => {
      expect(cspRefusals(t)).toEqual([]);
      expect(t.errors.filter((e) => e.startsWith('page error'))).toEqual([]);
      await expectKeyInNoUrl(t, s.keys.auditor);
    });
  });
});
