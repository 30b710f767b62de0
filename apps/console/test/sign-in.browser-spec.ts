import type { Browser } from 'playwright-core';
import { describeInBrowser } from './support/chromium';
import {
  eventually,
  expectKeyInNoUrl,
  launch,
  locationHref,
  openTab,
  sessionItem,
  signIn,
  type Tab,
} from './support/browser';
import { type ConsoleService, type Key, startConsoleService } from './support/service';
import { navigate, NAV_LINKS, textOf } from './support/views';

jest.setTimeout(120_000);

const REFUSED = 'Your key was refused (revoked or unknown). Sign in again.';

/** console-shared.md "Sign-in": the key in sessionStorage only, never in a URL; 401 → back to sign-in. */
describeInBrowser('Console: sign-in', () => {
  let s: ConsoleService;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = async () => {
    const t = await openTab(browser);
    tabs.push(t);
    return t;
  };

  beforeAll(async () => {
    s = await startConsoleService();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  async function submit(t: Tab, key: string) {
    await t.page.goto(`${s.baseUrl}/console/sign-in`);
    await t.page.getByLabel('API key').fill(key);
    await t.page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('signs an auditor in: key id and role shown, the key in sessionStorage only, in no URL of any view', async () => {
    const t = await tab();
    const key = s.keys.auditor;
    await signIn(t, s.baseUrl, key);
    expect(new URL(t.page.url()).pathname).toMatch(/^\/console\/?$/);
    const body = await textOf(t.page.locator('body'));
    // The key id's first 8 characters (as git shows commits).
    expect(body).toContain(key.id.slice(0, 8));
    expect(body).toMatch(/auditor/i);
    expect(body).not.toContain(key.key);
    expect(await sessionItem(t.page, 'console.apiKey')).toBe(key.key);
    expect(await t.page.evaluate('JSON.stringify(Object.values(localStorage))')).not.toContain(key.key);
    expect(JSON.stringify(await t.context.cookies())).not.toContain(key.key);
    for (const view of Object.keys(NAV_LINKS) as (keyof typeof NAV_LINKS)[]) await navigate(t.page, view);
    await t.page.reload();
    await t.page.getByRole('navigation', { name: 'Main' }).waitFor();
    await expectKeyInNoUrl(t, key);
  });

  it('signs an admin in too', async () => {
    const t = await tab();
    await signIn(t, s.baseUrl, s.keys.admin);
    expect(await textOf(t.page.locator('body'))).toMatch(/admin/i);
    await expectKeyInNoUrl(t, s.keys.admin);
  });

  it('refuses an unknown key with an alert, and keeps nothing', async () => {
    const t = await tab();
    const unknown = 'csk_' + 'x'.repeat(40);
    await submit(t, unknown);
    const alert = t.page.getByRole('alert');
    await alert.waitFor();
    expect(await textOf(alert)).not.toBe('');
    expect(new URL(t.page.url()).pathname).toBe('/console/sign-in');
    expect(await sessionItem(t.page, 'console.apiKey')).toBeNull();
    expect(t.urls.some((url) => url.includes(unknown))).toBe(false);
  });

  it('refuses a writer key: the alert says an auditor or admin key is needed', async () => {
    const t = await tab();
    await submit(t, s.keys.writer.key);
    const alert = t.page.getByRole('alert');
    await alert.waitFor();
    const text = await textOf(alert);
    expect(text).toMatch(/auditor/i);
    expect(text).toMatch(/admin/i);
    expect(new URL(t.page.url()).pathname).toBe('/console/sign-in');
    expect(await sessionItem(t.page, 'console.apiKey')).toBeNull();
    await expectKeyInNoUrl(t, s.keys.writer);
  });

  it('sends a session whose key is revoked back to sign-in, saying why', async () => {
    const t = await tab();
    const key: Key = await s.key('auditor', '*', 'Soon Revoked');
    await signIn(t, s.baseUrl, key);
    await navigate(t.page, 'ends');
    await s.revoke(key.id);
    // Revocation reaches every cache within 1 s (CONTRACT.md "Keys"); each click asks the API again.
    await eventually(async () => {
      await t.page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Blocked attempts' })
        .click({ timeout: 1000 });
      await t.page.waitForURL('**/console/sign-in**', { timeout: 1500 });
    }, 10_000);
    const alert = t.page.getByRole('alert');
    await alert.waitFor();
    expect(await textOf(alert)).toContain(REFUSED);
    expect(await sessionItem(t.page, 'console.apiKey')).toBeNull();
    await expectKeyInNoUrl(t, key);
  });

  it('signs out: back to sign-in, the key gone from sessionStorage', async () => {
    const t = await tab();
    await signIn(t, s.baseUrl, s.keys.auditor2);
    await t.page.getByRole('button', { name: 'Sign out' }).click();
    await t.page.waitForURL('**/console/sign-in**');
    expect(await sessionItem(t.page, 'console.apiKey')).toBeNull();
    // A view opened afterwards asks for a key again.
    await t.page.goto(`${s.baseUrl}/console/ends`);
    await t.page.waitForURL('**/console/sign-in**');
    expect(await locationHref(t.page)).toContain('/console/sign-in');
  });
});
