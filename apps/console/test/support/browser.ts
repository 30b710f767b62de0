import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium';
import type { Key } from './service';

/** Where the tests write each view's screenshot (committed; the README shows two of them). */
export const SCREENSHOT_DIR = resolve(__dirname, '../../../../docs/screenshots');

export const WIDTHS = [1280, 390] as const;
export type Width = (typeof WIDTHS)[number];

export const viewport = (width: Width) => ({ width, height: width === 1280 ? 800 : 844 });

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * A tab of its own (a new context: its own sessionStorage), which records every URL it requested
 * or navigated to and every console message, so tests can check that no key was ever in a URL and
 * that the CSP refused nothing.
 */
export interface Tab {
  context: BrowserContext;
  page: Page;
  /** Every request URL and every navigated URL, in order. */
  urls: string[];
  /** Every console message of type error (text), and every uncaught page error. */
  errors: string[];
  close(): Promise<void>;
}

export async function openTab(browser: Browser, width: Width = 1280): Promise<Tab> {
  const context = await browser.newContext({
    viewport: viewport(width),
    acceptDownloads: true,
    locale: 'en-GB',
    timezoneId: 'Europe/Berlin',
  });
  // Every CSP violation of every document the tab loads, as the page itself sees it.
  await context.addInitScript(
    `window.__cspViolations = [];
     document.addEventListener('securitypolicyviolation', (e) =>
       window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile));`,
  );
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const urls: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('framenavigated', (frame) => urls.push(frame.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return { context, page, urls, errors, close: () => context.close() };
}

/** `location.href` of the page, read inside it (not Playwright's idea of it). */
export const locationHref = (page: Page): Promise<string> => page.evaluate('location.href') as Promise<string>;

/** The page's sessionStorage entry, read inside it. */
export const sessionItem = (page: Page, name: string): Promise<string | null> =>
  page.evaluate(`sessionStorage.getItem(${JSON.stringify(name)})`) as Promise<string | null>;

/** Fails naming the URL when any URL the tab used, or its location now, holds the key (or a part of it). */
export async function expectKeyInNoUrl(tab: Tab, key: Key): Promise<void> {
  const secret = key.key;
  const tail = secret.slice(-16);
  const all = [...tab.urls, await locationHref(tab.page)];
  const leaks = all.filter((url) => {
    const decoded = safeDecode(url);
    return decoded.includes(secret) || decoded.includes(tail);
  });
  expect(leaks).toEqual([]);
  expect(all.length).toBeGreaterThan(1);
}

const safeDecode = (url: string) => {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
};

/** Signs in through the form: the API key field, "Sign in", then the main navigation. */
export async function signIn(tab: Tab, baseUrl: string, key: Key, path = '/console/'): Promise<void> {
  const { page } = tab;
  await page.goto(`${baseUrl}/console/sign-in`);
  await page.getByLabel('API key').fill(key.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Attached, not visible: at 390 px the navigation may be folded behind a menu button.
  await page.locator('nav[aria-label="Main"]').waitFor({ state: 'attached' });
  if (path !== '/console/') await page.goto(`${baseUrl}${path}`);
  await settled(page);
}

/** Waits until nothing in the main region is loading (aria-busy) any more. */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  // (Not waitForFunction with a string: the console's CSP forbids eval, rightly.)
  await page.locator('[aria-busy="true"]').first().waitFor({ state: 'detached' });
}

/** Writes docs/screenshots/<view>-<width>.png (the whole page). */
export async function screenshot(page: Page, view: string, width: Width): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${view}-${width}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** axe-core on the page as it is: fails listing every serious or critical violation (rule, nodes). */
export async function expectAccessible(page: Page, view: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${view}: ${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/**
 * Console errors of the CSP: none is allowed on any view. Chromium words them "Refused to …" or
 * (156) "Applying inline style violates the following Content Security Policy directive …".
 */
export const cspRefusals = (tab: Tab): string[] =>
  tab.errors.filter((e) => /Refused to|Content Security Policy/i.test(e));

/** The securitypolicyviolation events of the page's current document (recorded by openTab's init script). */
export const cspViolations = async (page: Page): Promise<string[]> =>
  ((await page.evaluate('window.__cspViolations ?? []')) as string[]) ?? [];

/** Runs `check` (jest expectations) until it passes, or fails with its last error after `ms`. */
export async function eventually<T>(check: () => Promise<T> | T, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
