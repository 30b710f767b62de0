import type { Browser, Page } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import { launch, openTab, settled, signIn, WIDTHS, type Tab } from './support/browser';
import { countBy, seedWorld, type World } from './support/seed';
import { type ConsoleService, startConsoleService } from './support/service';
import { goto, searchOf, VIEWS } from './support/views';

jest.setTimeout(180_000);

const CHARTS = ['ends-per-day', 'blocked-by-guard', 'ends-by-model', 'ends-by-initiator', 'review-outcomes'];

/** The chart drawings and their number tables are readable at both widths, and the drawn bars and slices are links. */
describeInBrowser('Console: the charts, drawn and read', () => {
  let s: ConsoleService;
  let world: World;
  let browser: Browser;
  const range = () => ({ from: world.from, to: world.to });

  beforeAll(async () => {
    s = await startConsoleService();
    world = await seedWorld(s);
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  async function overviewAt(width: (typeof WIDTHS)[number]): Promise<Tab> {
    const t = await openTab(browser, width);
    await signIn(t, s.baseUrl, s.keys.auditor);
    await goto(t.page, s.baseUrl, VIEWS.overview, range());
    for (const name of CHARTS) await t.page.locator(`figure[data-testid="chart-${name}"] svg text`).first().waitFor();
    // ECharts draws after a resize observer tick: let it settle.
    await t.page.waitForTimeout(300);
    return t;
  }

  describe.each(WIDTHS)('at %i px', (width) => {
    let t: Tab;
    beforeAll(async () => {
      t = await overviewAt(width);
    });
    afterAll(() => t?.close());

    it('shows every number table whole: nothing cut by a fixed height or the width', async () => {
      for (const name of CHARTS) {
        const region = t.page.locator(`figure[data-testid="chart-${name}"] [role="region"]`);
        const box = (await region.evaluate((el) => ({
          scrollHeight: el.scrollHeight,
          clientHeight: el.clientHeight,
          scrollWidth: el.scrollWidth,
          clientWidth: el.clientWidth,
        }))) as Record<string, number>;
        expect([name, box.scrollHeight <= box.clientHeight + 1]).toEqual([name, true]);
        expect([name, box.scrollWidth <= box.clientWidth + 1]).toEqual([name, true]);
      }
      // Every ends-per-day row is on the page (one per day and reason code that has ends).
      const perDay = Object.keys(countBy(world.ends, (e) => `${e.day}|${e.reasonCode}`));
      const rows = t.page.locator('figure[data-testid="chart-ends-per-day"] tr[data-testid="chart-row"]');
      expect(await rows.count()).toBe(perDay.length);
      for (const row of await rows.all()) expect(await row.isVisible()).toBe(true);
    });

    it('draws every label whole: no "…" and no text outside its drawing', async () => {
      for (const name of CHARTS) {
        const svg = t.page.locator(`figure[data-testid="chart-${name}"] svg`).first();
        const frame = (await svg.boundingBox())!;
        const texts = (await t.page.evaluate(
          `[...document.querySelector('figure[data-testid="chart-${name}"] svg').querySelectorAll('text')]
            .filter((x) => (x.textContent ?? '').trim() !== '' && getComputedStyle(x).display !== 'none')
            .map((x) => {
              const r = x.getBoundingClientRect();
              return { text: x.textContent.trim(), left: r.left, right: r.right };
            })`,
        )) as { text: string; left: number; right: number }[];
        expect(texts.length).toBeGreaterThan(0);
        for (const x of texts) {
          expect([name, x.text, /…|\.\.\./.test(x.text)]).toEqual([name, x.text, false]);
          const inside = x.left >= frame.x - 1 && x.right <= frame.x + frame.width + 1;
          expect([name, x.text, inside]).toEqual([name, x.text, true]);
        }
      }
      // The long words are there in full.
      const guards = await t.page.locator('figure[data-testid="chart-blocked-by-guard"] svg text').allTextContents();
      expect(guards.map((x) => x.trim())).toContain('INSUFFICIENT_REDIRECTION: 2');
      const initiators = await t.page
        .locator('figure[data-testid="chart-ends-by-initiator"] svg text')
        .allTextContents();
      const operators = world.ends.filter((e) => e.initiator === 'operator').length;
      expect(initiators.map((x) => x.trim())).toContain(`operator: ${operators}`);
    });
  });

  it('at 390 px the lists say that they scroll sideways (and do); at 1280 px they fit and say nothing', async () => {
    for (const width of WIDTHS) {
      const t = await openTab(browser, width);
      try {
        await signIn(t, s.baseUrl, s.keys.auditor);
        for (const [view, region] of [
          [VIEWS.blocked, 'Blocked attempts'],
          [VIEWS.ends, 'Ends'],
        ] as const) {
          await goto(t.page, s.baseUrl, view, range());
          const scroller = t.page.getByRole('region', { name: region, exact: true });
          await scroller.waitFor();
          const overflows = (await t.page.evaluate(
            `(() => { const el = document.querySelector('[role="region"][aria-label="${region}"]');
                      return el.scrollWidth > el.clientWidth + 1; })()`,
          )) as boolean;
          const hint = t.page.getByText('More columns to the right: scroll the table sideways.');
          expect([width, view, overflows]).toEqual([width, view, width === 390]);
          expect([width, view, await hint.isVisible()]).toEqual([width, view, width === 390]);
        }
      } finally {
        await t.close();
      }
    }
  });

  /** The element drawn at a point of the page (what a click there hits). */
  const hitAt = (page: Page, x: number, y: number) =>
    page.evaluate(`document.elementFromPoint(${x}, ${y})?.tagName.toLowerCase() ?? null`) as Promise<string | null>;

  async function clickDrawn(page: Page, x: number, y: number) {
    // A drawn shape, not a label or the background.
    expect(await hitAt(page, x, y)).toBe('path');
    await page.mouse.click(x, y);
  }

  it('a click on a drawn bar opens the list filtered by it', async () => {
    const t = await overviewAt(1280);
    try {
      const figure = t.page.locator('figure[data-testid="chart-blocked-by-guard"]');
      // The bar lies under its label ("INSUFFICIENT_REDIRECTION: 2", written above the bar's start).
      const label = figure.locator('svg text', { hasText: /^INSUFFICIENT_REDIRECTION: \d+$/ });
      await figure.scrollIntoViewIfNeeded();
      const box = (await label.boundingBox())!;
      await clickDrawn(t.page, box.x + 4, box.y + box.height + 10);
      await t.page.waitForURL((url) => url.pathname === VIEWS.blocked);
      await settled(t.page);
      expect(searchOf(t.page)).toMatchObject({ guard: 'INSUFFICIENT_REDIRECTION', ...range() });
    } finally {
      await t.close();
    }
  });

  it('a click on a drawn slice opens the list filtered by it', async () => {
    const t = await overviewAt(390);
    try {
      const chart = t.page.locator('figure[data-testid="chart-ends-by-initiator"] .chart');
      await chart.scrollIntoViewIfNeeded();
      const box = (await chart.boundingBox())!;
      // The donut: centre at 50% / 45%, the ring between 30% and 58% of half the smaller side.
      // The largest slice (model ends) starts at 12 o'clock and runs clockwise past 3 o'clock.
      const models = world.ends.filter((e) => e.initiator === 'model').length;
      expect(models / world.ends.length).toBeGreaterThan(0.5);
      const r = Math.min(box.width, box.height) / 2;
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height * 0.45;
      await clickDrawn(t.page, cx + r * 0.44, cy);
      await t.page.waitForURL((url) => url.pathname === VIEWS.ends);
      await settled(t.page);
      expect(searchOf(t.page)).toMatchObject({ initiator: 'model', ...range() });
    } finally {
      await t.close();
    }
  });
});
