import { apiFilters, blockedFilters, filtersOf, nextDay, queryOf } from './filters';

describe('the filter bar in the query string', () => {
  it('reads the known filters and drops the rest', () => {
    const search = new URLSearchParams('reasonCode=USER_REQUESTED&cursor=x&from=2025-09-01&tenantId=');
    expect(filtersOf(search)).toEqual({ reasonCode: 'USER_REQUESTED', from: '2025-09-01' });
  });

  it('writes filters and extra parameters back, in a stable order, without empty ones', () => {
    expect(queryOf({ to: '2025-09-02', from: '2025-09-01' }, { guard: 'NO_USER_REQUEST', seed: undefined })).toBe(
      '?from=2025-09-01&to=2025-09-02&guard=NO_USER_REQUEST',
    );
    expect(queryOf({})).toBe('');
  });

  it('asks the API for whole days: "To" is inclusive, the API\'s to exclusive', () => {
    expect(nextDay('2025-12-31')).toBe('2026-01-01');
    expect(apiFilters({ from: '2025-09-01', to: '2025-09-01' })).toEqual({ from: '2025-09-01', to: '2025-09-02' });
  });

  it('passes only values the API accepts', () => {
    expect(
      apiFilters({ initiator: 'user', policyVersion: 'v1', reviewOutcome: 'none', from: 'yesterday', modelId: 'm' }),
    ).toEqual({ reviewOutcome: 'none', modelId: 'm' });
  });

  it('gives blocked attempts (chart and list alike) every filter that applies to them, the initiator too', () => {
    const q = apiFilters({
      from: '2025-09-01',
      reasonCode: 'USER_REQUESTED',
      initiator: 'operator',
      modelId: 'm',
      policyVersion: '2',
      reviewOutcome: 'upheld',
      tenantId: 't',
    });
    expect(blockedFilters(q)).toEqual({
      from: '2025-09-01',
      to: undefined,
      reasonCode: 'USER_REQUESTED',
      initiator: 'operator',
      modelId: 'm',
      tenantId: 't',
    });
  });
});
