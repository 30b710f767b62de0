import type { Browser, Page } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import { eventually, launch, openTab, settled, signIn, type Tab } from './support/browser';
import { projectionsCaughtUp, seedManyEnds, seedWorld, type World } from './support/seed';
import { type ConsoleService, startConsoleService } from './support/service';
import { goto, rowIds, textOf, VIEWS } from './support/views';

jest.setTimeout(180_000);

/** More ends than one page of the list holds (the API's default page is 50). */
const MANY = 56;

/** console-shared.md "Lists": keyset pages, sort by time, rows reached and opened with the keyboard. */
describeInBrowser('Console: the ends and blocked lists', () => {
  let s: ConsoleService;
  let world: World;
  let browser: Browser;
  let t: Tab;
  const range = () => ({ from: world.from, to: world.to });

  beforeAll(async () => {
    s = await startConsoleService();
    world = await seedWorld(s);
    world.ends.push(...(await seedManyEnds(s, MANY)));
    await projectionsCaughtUp(s, world);
    browser = await launch();
    t = await openTab(browser);
    await signIn(t, s.baseUrl, s.keys.auditor);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  const next = (page: Page) => page.getByRole('button', { name: 'Next page' });
  const previous = (page: Page) => page.getByRole('button', { name: 'Previous page' });
  const canGo = async (page: Page, button: ReturnType<typeof next>) =>
    (await button.count()) > 0 && (await button.isVisible()) && (await button.isEnabled());

  /** Every page of the list, walked with "Next page". */
  async function walk(page: Page): Promise<string[][]> {
    const pages = [await rowIds(page, 'end-row')];
    while (await canGo(page, next(page))) {
      const before = pages.at(-1)!;
      await next(page).click();
      // the next page's rows, not the moment between pages when the list is empty (a row's id
      // is then undefined, unlike the page before's: that once passed for the next page, under load)
      const arrived = async () => {
        const ids = await rowIds(page, 'end-row');
        expect(ids.length).toBeGreaterThan(0);
        expect(ids[0]).not.toBe(before[0]);
      };
      await eventually(arrived);
      await settled(page);
      await eventually(arrived);
      pages.push(await rowIds(page, 'end-row'));
      if (pages.length > 20) throw new Error('more than 20 pages');
    }
    return pages;
  }

  it('pages through every end with "Next page" (keyset: no row twice, none missing) and back', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    const pages = await walk(t.page);
    expect(pages.length).toBeGreaterThan(1);
    const all = pages.flat();
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual(world.ends.map((e) => e.conversationId).sort());
    // The page is not in the URL as an offset.
    expect(new URL(t.page.url()).searchParams.has('offset')).toBe(false);

    expect(await canGo(t.page, previous(t.page))).toBe(true);
    await previous(t.page).click();
    await settled(t.page);
    expect(await rowIds(t.page, 'end-row')).toEqual(pages.at(-2));
  });

  it('sorts by time across pages: "Oldest first" asks the API for order=asc, kept in the URL', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    const times = async () => {
      const out: string[] = [];
      for (const row of await t.page.locator('[data-testid="end-row"]').all()) {
        out.push((await row.locator('time').first().getAttribute('datetime'))!);
      }
      return out;
    };
    const header = t.page.locator('th[aria-sort]');
    const toggle = t.page.getByRole('button', { name: /^(Newest first|Oldest first)$/ });
    expect(await toggle.innerText()).toBe('Newest first');
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    const newest = await times();
    expect(newest).toEqual([...newest].sort().reverse());
    const newestPages = await walk(t.page);
    expect(newestPages.length).toBeGreaterThan(1);

    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    await toggle.click();
    await t.page.waitForURL((url) => url.searchParams.get('order') === 'asc');
    await settled(t.page);
    expect(await toggle.innerText()).toBe('Oldest first');
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    // The filters stay in the URL beside the order.
    expect(new URL(t.page.url()).searchParams.get('from')).toBe(world.from);
    const oldest = await times();
    expect(oldest).toEqual([...oldest].sort());
    // The first row is the oldest end of all pages (not of the first newest-first page turned around).
    const oldestPages = await walk(t.page);
    expect(oldestPages.flat()).toEqual(newestPages.flat().reverse());

    // A reload keeps the order (it is in the URL); the button turns it back.
    await t.page.reload();
    await settled(t.page);
    expect(await toggle.innerText()).toBe('Oldest first');
    expect(await rowIds(t.page, 'end-row')).toEqual(oldestPages[0]);
    await toggle.click();
    await t.page.waitForURL((url) => !url.searchParams.has('order'));
    await settled(t.page);
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    expect(await rowIds(t.page, 'end-row')).toEqual(newestPages[0]);
  });

  it('sorts the blocked attempts oldest first through the API too', async () => {
    await goto(t.page, s.baseUrl, VIEWS.blocked, range());
    const newest = await rowIds(t.page, 'blocked-row');
    await t.page.getByRole('button', { name: 'Newest first' }).click();
    await t.page.waitForURL((url) => url.searchParams.get('order') === 'asc');
    await settled(t.page);
    expect(await t.page.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('ascending');
    expect(await rowIds(t.page, 'blocked-row')).toEqual([...newest].reverse());
  });

  it('reaches a row with Tab and opens its conversation with Enter', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    let focused: string | null = null;
    for (let i = 0; i < 80 && focused !== 'end-row'; i++) {
      await t.page.keyboard.press('Tab');
      focused = (await t.page.evaluate('document.activeElement?.getAttribute("data-testid") ?? null')) as string | null;
    }
    expect(focused).toBe('end-row');
    const id = (await t.page.evaluate('document.activeElement.getAttribute("data-conversation-id")')) as string;
    await t.page.keyboard.press('Enter');
    await t.page.waitForURL((url) => url.pathname === `/console/conversations/${id}`);
    await settled(t.page);
    await t.page.locator('[data-testid="message-tree"]').waitFor();
  });

  it('opens a conversation from the blocked attempts list with a click', async () => {
    await goto(t.page, s.baseUrl, VIEWS.blocked, range());
    expect((await rowIds(t.page, 'blocked-row')).sort()).toEqual(world.blocked.map((b) => b.conversationId).sort());
    const row = t.page.locator('[data-testid="blocked-row"]').first();
    const id = await row.getAttribute('data-conversation-id');
    await row.click();
    await t.page.waitForURL((url) => url.pathname === `/console/conversations/${id}`);
    await t.page.locator('[data-testid="message-tree"]').waitFor();
  });

  it('shows times in the viewer time zone (Europe/Berlin here) with UTC in the title', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    const row = t.page.locator('[data-testid="end-row"]').first();
    const endEventId = (await row.getAttribute('data-end-event-id'))!;
    const answer = await s.client(s.keys.auditor).GET('/v1/audit/ends', { params: { query: { limit: 500 } } });
    const end = answer.data!.items.find((e) => e.endEventId === endEventId);
    expect(end).toBeDefined();
    const endedAt = new Date(end!.endedAt);
    const format = (timeZone: string) =>
      new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(endedAt);
    expect(format('Europe/Berlin')).not.toBe(format('UTC'));

    const time = row.locator('time');
    expect(await time.count()).toBe(1);
    expect((await textOf(time)).trim()).toBe(format('Europe/Berlin'));
    expect(await time.getAttribute('title')).toBe(`${endedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC`);
  });
});
