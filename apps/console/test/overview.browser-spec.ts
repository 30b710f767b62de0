import type { Browser } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import { eventually, launch, openTab, settled, signIn, type Tab } from './support/browser';
import { countBy, seedWorld, type World } from './support/seed';
import { type ConsoleService, startConsoleService } from './support/service';
import { chartRows, choose, goto, navigate, nonZero, rowIds, searchOf, textOf, VIEWS } from './support/views';

jest.setTimeout(120_000);

const sorted = (ids: string[]) => [...ids].sort();

/** console-shared.md "Overview", "Filter bar", "Lists": the charts show the seeded counts and lead into the lists. */
describeInBrowser('Console: overview and filters', () => {
  let s: ConsoleService;
  let world: World;
  let browser: Browser;
  let t: Tab;
  const range = () => ({ from: world.from, to: world.to });

  beforeAll(async () => {
    s = await startConsoleService();
    world = await seedWorld(s);
    browser = await launch();
    t = await openTab(browser);
    await signIn(t, s.baseUrl, s.keys.auditor);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  describe('the five charts', () => {
    beforeAll(() => goto(t.page, s.baseUrl, VIEWS.overview, range()));

    it('each is a figure with a caption and a table of its numbers', async () => {
      for (const name of [
        'ends-per-day',
        'blocked-by-guard',
        'ends-by-model',
        'ends-by-initiator',
        'review-outcomes',
      ]) {
        const figure = t.page.locator(`figure[data-testid="chart-${name}"]`);
        expect(await figure.count()).toBe(1);
        expect(await textOf(figure.locator('figcaption'))).not.toBe('');
        expect(await figure.locator('table tr[data-testid="chart-row"]').count()).toBeGreaterThan(0);
      }
    });

    it('ends per day, by reason code: one row per day and reason with the seeded count', async () => {
      expect(nonZero(await chartRows(t.page, 'ends-per-day'))).toEqual(
        countBy(world.ends, (e) => `${e.day}|${e.reasonCode}`),
      );
    });

    it('blocked attempts by failed guard: an attempt counted once per failed guard', async () => {
      const expected = countBy(world.blocked, (b) => b.failedGuards);
      expect(expected).toEqual({
        INSUFFICIENT_REDIRECTION: 2,
        MODEL_NOT_END_CAPABLE: 1,
        SAFETY_RISK_OPEN: 1,
        NO_USER_REQUEST: 1,
      });
      expect(nonZero(await chartRows(t.page, 'blocked-by-guard'))).toEqual(expected);
    });

    it('ends by model and by initiator', async () => {
      expect(nonZero(await chartRows(t.page, 'ends-by-model'))).toEqual(countBy(world.ends, (e) => e.modelId));
      expect(nonZero(await chartRows(t.page, 'ends-by-initiator'))).toEqual(countBy(world.ends, (e) => e.initiator));
    });

    it('review outcomes: pending, upheld, overturned', async () => {
      const rows = nonZero(await chartRows(t.page, 'review-outcomes'));
      // The stats endpoint's key for "never reviewed" is `none`; the console may call it pending.
      const normalized = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k === 'pending' ? 'none' : k, v]));
      expect(normalized).toEqual({ none: world.ends.length - 2, upheld: 1, overturned: 1 });
    });

    it('shows the numbers as text: in its table, and as the drawn labels of the chart', async () => {
      const figure = t.page.locator('figure[data-testid="chart-ends-by-model"]');
      const expected = countBy(world.ends, (e) => e.modelId);
      for (const [model, count] of Object.entries(expected)) {
        const row = figure.locator(`tr[data-testid="chart-row"][data-key="${model}"]`);
        expect(await textOf(row)).toBe(`${model} ${count}`);
      }
      // The drawing's own labels (ECharts' SVG renderer: text in the DOM), not only that an svg exists:
      // each bar is labelled above it with its model and count.
      const drawn = (await figure.locator('svg text').allTextContents()).map((x) => x.trim());
      for (const [model, count] of Object.entries(expected)) expect(drawn).toContain(`${model}: ${count}`);
    });
  });

  it("a chart row's link opens the ends list filtered by it: the filter in the URL, only those ends", async () => {
    await goto(t.page, s.baseUrl, VIEWS.overview, range());
    const row = t.page.locator(
      'figure[data-testid="chart-ends-by-model"] tr[data-testid="chart-row"][data-key="claude-opus-4"]',
    );
    await row.getByRole('link').first().click();
    await t.page.waitForURL((url) => url.pathname === VIEWS.ends);
    await settled(t.page);
    expect(searchOf(t.page)).toMatchObject({ modelId: 'claude-opus-4', ...range() });
    const expected = world.ends.filter((e) => e.modelId === 'claude-opus-4').map((e) => e.conversationId);
    expect(sorted(await rowIds(t.page, 'end-row'))).toEqual(sorted(expected));
  });

  it('a blocked-by-guard row opens the blocked attempts that failed that guard', async () => {
    await goto(t.page, s.baseUrl, VIEWS.overview, range());
    const row = t.page.locator(
      'figure[data-testid="chart-blocked-by-guard"] tr[data-testid="chart-row"][data-key="INSUFFICIENT_REDIRECTION"]',
    );
    await row.getByRole('link').first().click();
    await t.page.waitForURL((url) => url.pathname === VIEWS.blocked);
    await settled(t.page);
    expect(new URL(t.page.url()).search).toContain('INSUFFICIENT_REDIRECTION');
    const expected = world.blocked.filter((b) => b.failedGuards.includes('INSUFFICIENT_REDIRECTION'));
    expect(sorted(await rowIds(t.page, 'blocked-row'))).toEqual(sorted(expected.map((b) => b.conversationId)));
  });

  it('filtering by reason in the filter bar changes the list and the URL; a reload reproduces it', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    expect(sorted(await rowIds(t.page, 'end-row'))).toEqual(sorted(world.ends.map((e) => e.conversationId)));
    const filters = t.page.getByRole('form', { name: 'Filters' });
    expect(await filters.count()).toBe(1);
    await choose(t.page, 'Reason code', 'USER_REQUESTED');
    const apply = filters.getByRole('button', { name: /apply|filter/i });
    if (await apply.count()) await apply.first().click();
    await t.page.waitForURL((url) => url.searchParams.get('reasonCode') === 'USER_REQUESTED');
    await settled(t.page);
    const expected = sorted(world.ends.filter((e) => e.reasonCode === 'USER_REQUESTED').map((e) => e.conversationId));
    await eventually(async () => expect(sorted(await rowIds(t.page, 'end-row'))).toEqual(expected));
    expect(searchOf(t.page)).toMatchObject({ reasonCode: 'USER_REQUESTED', ...range() });

    await t.page.reload();
    await settled(t.page);
    expect(sorted(await rowIds(t.page, 'end-row'))).toEqual(expected);
    expect(await t.page.getByLabel('Reason code', { exact: true }).inputValue()).toBe('USER_REQUESTED');
  });

  it('every view keeps the filter when you move between them, and the charts follow it', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, { ...range(), reasonCode: 'USER_REQUESTED' });
    await navigate(t.page, 'overview');
    expect(searchOf(t.page)).toMatchObject({ reasonCode: 'USER_REQUESTED', ...range() });
    const userEnds = world.ends.filter((e) => e.reasonCode === 'USER_REQUESTED');
    expect(nonZero(await chartRows(t.page, 'ends-by-model'))).toEqual(countBy(userEnds, (e) => e.modelId));
    for (const view of ['blocked', 'compliance', 'sample', 'export', 'ends'] as const) {
      await navigate(t.page, view);
      expect(searchOf(t.page)).toMatchObject({ reasonCode: 'USER_REQUESTED', ...range() });
    }
  });

  it('offers the tenant filter to keys of all tenants only', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    const filters = t.page.getByRole('form', { name: 'Filters' });
    expect(await filters.getByLabel('Tenant', { exact: true }).count()).toBe(1);
    await choose(t.page, 'Tenant', 'globex');
    await t.page.waitForURL((url) => url.searchParams.get('tenantId') === 'globex');
    await settled(t.page);
    const globex = world.ends.filter((e) => e.tenantId === 'globex').map((e) => e.conversationId);
    await eventually(async () => expect(sorted(await rowIds(t.page, 'end-row'))).toEqual(sorted(globex)));

    const acme = await openTab(browser);
    try {
      await signIn(acme, s.baseUrl, s.keys.acmeAuditor, `${VIEWS.ends}?from=${world.from}&to=${world.to}`);
      const acmeFilters = acme.page.getByRole('form', { name: 'Filters' });
      await acmeFilters.waitFor();
      expect(await acmeFilters.getByLabel('Tenant', { exact: true }).count()).toBe(0);
      const acmeEnds = world.ends.filter((e) => e.tenantId === 'acme').map((e) => e.conversationId);
      expect(sorted(await rowIds(acme.page, 'end-row'))).toEqual(sorted(acmeEnds));
    } finally {
      await acme.close();
    }
  });
});
