// The filter bar's state: in the query string, kept by every view (a link reproduces the view).
// Plain functions (use-filters.ts reads them from the address).
export const FILTER_NAMES = [
  'from',
  'to',
  'reasonCode',
  'initiator',
  'modelId',
  'policyVersion',
  'reviewOutcome',
  'tenantId',
] as const;
export type FilterName = (typeof FILTER_NAMES)[number];
export type Filters = Partial<Record<FilterName, string>>;

export function filtersOf(search: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const name of FILTER_NAMES) {
    const value = search.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** `?a=b&…` of the filters (and extra parameters), or '' when there are none. */
export function queryOf(filters: Filters, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filters[name]) params.set(name, filters[name]!);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The day after a YYYY-MM-DD (the filter bar's "To" is inclusive; the API's `to` is exclusive). */
export function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export type EndQuery = {
  from?: string;
  to?: string;
  reasonCode?: string;
  initiator?: 'model' | 'operator';
  modelId?: string;
  policyVersion?: number;
  reviewOutcome?: 'upheld' | 'overturned' | 'reclassified' | 'none';
  tenantId?: string;
};

/** The API query of the filters (dates as UTC days, `to` made exclusive). */
/**
 * The filters that apply to blocked attempts (the chart and the list alike): a blocked attempt has
 * no policy version of an end and no review, so those two filters do not apply to it.
 */
export function blockedFilters(q: EndQuery) {
  const { from, to, reasonCode, initiator, modelId, tenantId } = q;
  return { from, to, reasonCode, initiator, modelId, tenantId };
}

export function apiFilters(filters: Filters): EndQuery {
  const q: EndQuery = {};
  if (filters.from && DAY.test(filters.from)) q.from = filters.from;
  if (filters.to && DAY.test(filters.to)) q.to = nextDay(filters.to);
  if (filters.reasonCode) q.reasonCode = filters.reasonCode;
  if (filters.initiator === 'model' || filters.initiator === 'operator') q.initiator = filters.initiator;
  if (filters.modelId) q.modelId = filters.modelId;
  if (filters.policyVersion && /^\d+$/.test(filters.policyVersion)) q.policyVersion = Number(filters.policyVersion);
  const r = filters.reviewOutcome;
  if (r === 'upheld' || r === 'overturned' || r === 'reclassified' || r === 'none') q.reviewOutcome = r;
  if (filters.tenantId) q.tenantId = filters.tenantId;
  return q;
}
