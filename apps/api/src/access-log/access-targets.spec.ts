import { accessEntries, AccessRequest, eventTargets, filterOf } from './access-targets';

const C1 = '00000000-0000-4000-8000-0000000000c1';
const C2 = '00000000-0000-4000-8000-0000000000c2';
const AT = new Date('2026-12-05T10:00:00.000Z');

const request = (tenantId: string, query: Record<string, unknown> = {}): AccessRequest => ({
  id: 'req-1',
  principal: { keyId: 'k-1', role: 'auditor', tenantId, holder: null, expiresAt: null },
  query,
  routeOptions: { url: '/v1/events' },
});

describe(accessEntries.name, () => {
  it('makes one entry per tenant read by a * key, each naming its conversations once', () => {
    const targets = [
      { tenantId: 'a', conversationIds: [C1] },
      { tenantId: 'b', conversationIds: [C2] },
      { tenantId: 'a', conversationIds: [C1] },
      { tenantId: '*', conversationIds: [] },
    ];
    expect(accessEntries(request('*', { limit: '2' }), targets, AT)).toEqual([
      {
        at: AT.toISOString(),
        keyId: 'k-1',
        role: 'auditor',
        tenantId: 'a',
        route: '/v1/events',
        conversationIds: [C1],
        filter: { limit: '2' },
        requestId: 'req-1',
      },
      expect.objectContaining({ tenantId: 'b', conversationIds: [C2] }),
      expect.objectContaining({ tenantId: '*', conversationIds: [] }),
    ]);
  });

  it('keeps a tenant key’s entry in its own tenant, whatever the targets say', () => {
    const entries = accessEntries(request('a'), [{ tenantId: 'b', conversationIds: [C2] }], AT);
    expect(entries.map((e) => [e.tenantId, e.conversationIds])).toEqual([['a', [C2]]]);
  });

  it('records a read that returned nothing under the tenant asked for, else the key’s, else *', () => {
    expect(accessEntries(request('*', { tenantId: 'b' }), [], AT)[0].tenantId).toBe('b');
    expect(accessEntries(request('*'), [], AT)[0].tenantId).toBe('*');
    expect(accessEntries(request('a', { tenantId: 'b' }), [], AT)[0].tenantId).toBe('a');
  });

  it('records nothing for a request without a principal (never reached by a recorded route)', () => {
    expect(accessEntries({ id: 'x' }, [{ tenantId: 'a', conversationIds: [] }], AT)).toEqual([]);
  });
});

describe(eventTargets.name, () => {
  it('names conversation streams by id and events without a tenant as *', () => {
    expect(
      eventTargets([
        { streamId: `conversation-${C1}`, metadata: { tenantId: 'a' } },
        { streamId: 'apikey-00000000-0000-4000-8000-00000000000a', metadata: {} },
      ]),
    ).toEqual([
      { tenantId: 'a', conversationIds: [C1] },
      { tenantId: '*', conversationIds: [] },
    ]);
  });
});

describe(filterOf.name, () => {
  it('keeps the query as text, a repeated parameter joined by commas', () => {
    expect(filterOf({ a: '1', b: ['x', 'y'], c: undefined, d: 2 })).toEqual({ a: '1', b: 'x,y', d: '2' });
    expect(filterOf(undefined)).toEqual({});
  });
});
