// The filter bar: every control writes the query string (a link reproduces the view).
import { useEffect, useState, type FormEvent } from 'react';
import { FILTER_NAMES, queryOf, type Filters } from '../filters';
import { usePolicies } from '../queries';
import { navigate, useLocation } from '../router';

const KEEP_BESIDE_FILTERS = ['guard', 'seed', 'size', 'bundle'];

export function FilterBar({ allTenants }: { allTenants: boolean }) {
  const location = useLocation();
  const policies = usePolicies();
  const current: Filters = {};
  for (const name of FILTER_NAMES) current[name] = location.search.get(name) ?? '';
  const [draft, setDraft] = useState<Filters>(current);
  const currentText = JSON.stringify(current);
  useEffect(() => setDraft(JSON.parse(currentText) as Filters), [currentText]);

  const apply = (next: Filters) => {
    const extra: Record<string, string | undefined> = {};
    for (const k of KEEP_BESIDE_FILTERS) extra[k] = location.search.get(k) ?? undefined;
    navigate(location.path + queryOf(next, extra));
  };
  const set = (name: keyof Filters, value: string, now: boolean) => {
    const next = { ...draft, [name]: value };
    setDraft(next);
    if (now) apply(next);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };
  const codes = new Set<string>();
  for (const p of policies.data?.items ?? []) for (const r of p.reasonCodes) codes.add(r.code);
  if (draft.reasonCode) codes.add(draft.reasonCode);
  const versions = (policies.data?.items ?? []).map((p) => p.version);
  const any = Object.values(current).some((v) => v);

  return (
    <form className="filter-bar" aria-label="Filters" onSubmit={submit}>
      <div className="field">
        <label htmlFor="f-from">From</label>
        <input id="f-from" type="date" value={draft.from} onChange={(e) => set('from', e.target.value, true)} />
      </div>
      <div className="field">
        <label htmlFor="f-to">To</label>
        <input id="f-to" type="date" value={draft.to} onChange={(e) => set('to', e.target.value, true)} />
      </div>
      <div className="field">
        <label htmlFor="f-reason">Reason code</label>
        <select id="f-reason" value={draft.reasonCode} onChange={(e) => set('reasonCode', e.target.value, true)}>
          <option value="">Any</option>
          {[...codes].sort().map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-initiator">Initiator</label>
        <select id="f-initiator" value={draft.initiator} onChange={(e) => set('initiator', e.target.value, true)}>
          <option value="">Any</option>
          <option value="model">model</option>
          <option value="operator">operator</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-model">Model</label>
        <input
          id="f-model"
          type="text"
          value={draft.modelId}
          placeholder="any"
          onChange={(e) => set('modelId', e.target.value, false)}
          onBlur={() => draft.modelId !== current.modelId && apply(draft)}
        />
      </div>
      <div className="field">
        <label htmlFor="f-policy">Policy version</label>
        <select id="f-policy" value={draft.policyVersion} onChange={(e) => set('policyVersion', e.target.value, true)}>
          <option value="">Any</option>
          {[...new Set([...versions.map(String), ...(draft.policyVersion ? [draft.policyVersion] : [])])].map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-review">Review outcome</label>
        <select id="f-review" value={draft.reviewOutcome} onChange={(e) => set('reviewOutcome', e.target.value, true)}>
          <option value="">Any</option>
          <option value="none">pending</option>
          <option value="upheld">upheld</option>
          <option value="overturned">overturned</option>
          <option value="reclassified">reclassified</option>
        </select>
      </div>
      {allTenants && (
        <div className="field">
          <label htmlFor="f-tenant">Tenant</label>
          <input
            id="f-tenant"
            type="text"
            value={draft.tenantId}
            placeholder="all"
            onChange={(e) => set('tenantId', e.target.value, false)}
            onBlur={() => draft.tenantId !== current.tenantId && apply(draft)}
          />
        </div>
      )}
      <div className="field field-buttons">
        <button type="submit">Apply</button>
        <button type="button" className="secondary" disabled={!any} onClick={() => apply({})}>
          Clear
        </button>
      </div>
    </form>
  );
}
