import type { Locator, Page } from 'playwright-core';
import { settled } from './browser';

/** The console's views by their route (console-shared.md). */
export const VIEWS = {
  overview: '/console/',
  ends: '/console/ends',
  blocked: '/console/blocked',
  compliance: '/console/compliance',
  sample: '/console/sample',
  export: '/console/export',
} as const;

/** The links of `<nav aria-label="Main">`, by view. */
export const NAV_LINKS = {
  overview: 'Overview',
  ends: 'Ends',
  blocked: 'Blocked attempts',
  compliance: 'Compliance',
  sample: 'Sample',
  export: 'Export',
} as const;

export type Filters = Partial<
  Record<
    'from' | 'to' | 'reasonCode' | 'initiator' | 'modelId' | 'policyVersion' | 'reviewOutcome' | 'tenantId',
    string
  >
>;

export const query = (filters: Filters): string => {
  const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== undefined) as [string, string][]);
  return q.size ? `?${q}` : '';
};

export async function goto(page: Page, baseUrl: string, path: string, filters: Filters = {}): Promise<void> {
  await page.goto(`${baseUrl}${path}${query(filters)}`);
  await settled(page);
}

/** Clicks a link of the main navigation and waits for the view. */
export async function navigate(page: Page, view: keyof typeof NAV_LINKS): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: NAV_LINKS[view], exact: true })
    .click();
  await page.waitForURL((url) => url.pathname.replace(/\/$/, '') === VIEWS[view].replace(/\/$/, ''));
  await settled(page);
}

/** The query string of the page's URL, as an object. */
export const searchOf = (page: Page): Record<string, string> =>
  Object.fromEntries(new URL(page.url()).searchParams.entries());

/** A chart's table: `{data-key: data-value}` of each chart-row of `figure[data-testid="chart-<name>"]`. */
export async function chartRows(page: Page, name: string): Promise<Record<string, number>> {
  const rows = page.locator(`figure[data-testid="chart-${name}"] tr[data-testid="chart-row"]`);
  const out: Record<string, number> = {};
  for (const row of await rows.all()) {
    out[(await row.getAttribute('data-key'))!] = Number(await row.getAttribute('data-value'));
  }
  return out;
}

/** The same without the rows of value 0 (a chart may list every key, counted or not). */
export const nonZero = (rows: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(rows).filter(([, v]) => v !== 0));

/** The data-conversation-id of every row of a list (`end-row`, `blocked-row`, …), in order. */
export async function rowIds(page: Page, testId: string, attribute = 'data-conversation-id'): Promise<string[]> {
  const ids: string[] = [];
  for (const row of await page.locator(`[data-testid="${testId}"]`).all())
    ids.push((await row.getAttribute(attribute))!);
  return ids;
}

/**
 * Sets a labelled control to a value: a <select> by its option's value or text (any letter case),
 * a radio group by the radio's name, else types it (and presses Enter in an input).
 */
export async function choose(page: Page, label: string, value: string): Promise<void> {
  const control = page.getByLabel(label, { exact: true }).first();
  const tag = await control.evaluate((e) => e.tagName.toLowerCase()).catch(() => undefined);
  if (tag === 'select') {
    const options = await control.evaluate((e) =>
      Array.from((e as unknown as { options: { value: string; textContent: string }[] }).options).map(
        (o) => [o.value, o.textContent.trim()] as [string, string],
      ),
    );
    const wanted = value.toLowerCase();
    const option =
      options.find(([v, t]) => v.toLowerCase() === wanted || t.toLowerCase() === wanted) ??
      options.find(([v, t]) => v.toLowerCase().includes(wanted) || t.toLowerCase().includes(wanted));
    if (!option) throw new Error(`${label}: no option ${value} among ${JSON.stringify(options)}`);
    await control.selectOption(option[0]);
    return;
  }
  if (tag === 'input' || tag === 'textarea') {
    await control.fill(value);
    if (tag === 'input') await control.press('Enter');
    return;
  }
  // A fieldset or radiogroup labelled so: its radio of that name.
  await page.getByRole('radio', { name: new RegExp(`^${value}$`, 'i') }).check();
}

/** The visible text of an element, whitespace collapsed. */
export const textOf = async (locator: Locator): Promise<string> =>
  (await locator.innerText()).replace(/\s+/g, ' ').trim();

/** The value of a form control, read inside the page. */
export const valueOf = (locator: Locator): Promise<string> => locator.inputValue();
