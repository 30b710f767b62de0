import type { Browser, Page } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import { launch, openTab, settled, signIn, type Tab } from './support/browser';
import { projectionsCaughtUp, seedManyEnds, seedWorld, type World } from './support/seed';
import { type ConsoleService, startConsoleService } from './support/service';
import { goto, rowIds, VIEWS } from './support/views';

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
      await page.waitForFunction(
        `document.querySelector('[data-testid="end-row"]')?.getAttribute('data-conversation-id') !== ` +
          JSON.stringify(before[0]),
      );
      await settled(page);
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

  it('sorts by time: "Oldest first" starts with the oldest end, "Newest first" ends with it', async () => {
    const oldest = world.ends.reduce((a, b) => (a.day <= b.day ? a : b));
    expect(oldest.reasonCode).toBe('SERIOUS_CRIME_FACILITATION');
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    const newestFirst = await rowIds(t.page, 'end-row');
    const toggle = t.page.getByRole('button', { name: /^(Newest first|Oldest first)$/ });
    // The button names the order it shows (or the one it switches to): press it until the oldest leads.
    for (let i = 0; i < 2 && (await rowIds(t.page, 'end-row'))[0] !== oldest.conversationId; i++) {
      await toggle.click();
      await settled(t.page);
    }
    const oldestFirst = await rowIds(t.page, 'end-row');
    expect(oldestFirst[0]).toBe(oldest.conversationId);
    expect(oldestFirst).not.toEqual(newestFirst);
    await toggle.click();
    await settled(t.page);
    const pages = await walk(t.page);
    expect(pages.flat().at(-1)).toBe(oldest.conversationId);
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

  it('shows times in the viewer time zone with UTC in the title', async () => {
    await goto(t.page, s.baseUrl, VIEWS.ends, range());
    const time = t.page.locator('[data-testid="end-row"] [title]').first();
    expect(await time.getAttribute('title')).toMatch(/UTC|Z\b/);
  });
});
