import { loadConfig } from '@app/platform';
import type { Principal } from '../auth/api-keys';
import { SseConnections } from './sse-connections';

describe(SseConnections.name, () => {
  const connections = (env: Record<string, string> = {}) =>
    new SseConnections(loadConfig({ SSE_MAX_PER_KEY: '2', SSE_MAX_LIFETIME_MS: '60000', ...env }));
  const key = (keyId: string, expiresAt?: Date): Principal => ({
    keyId,
    role: 'auditor',
    tenantId: 'acme',
    holder: null,
    expiresAt: expiresAt ?? null,
  });
  beforeEach(() => jest.useFakeTimers({ now: new Date('2025-06-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('closes a stream when its key expires, before the maximum lifetime', () => {
    const registry = connections();
    const stream = registry.open(key('k', new Date(Date.now() + 5_000)));
    jest.advanceTimersByTime(4_999);
    expect(stream.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect([stream.signal.aborted, stream.reason, registry.countOf('k')]).toEqual([true, 'expired', 0]);
  });

  it('closes a stream at its maximum lifetime when the key expires later, or never', () => {
    const registry = connections();
    const later = registry.open(key('k', new Date(Date.now() + 3_600_000)));
    const never = registry.open(key('n'));
    jest.advanceTimersByTime(60_000);
    expect([later.reason, never.reason]).toEqual(['lifetime', 'lifetime']);
  });

  it('refuses a key over its count with 429 RATE_LIMITED until one of its streams closes', () => {
    const registry = connections();
    const [first] = [registry.open(key('k')), registry.open(key('k'))];
    expect(() => registry.open(key('k'))).toThrow(
      expect.objectContaining({ status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 5 }),
    );
    expect(registry.open(key('other')).signal.aborted).toBe(false);
    first.close('client');
    expect(registry.open(key('k')).signal.aborted).toBe(false);
  });

  it('closeKey closes only that key’s streams, once', () => {
    const registry = connections();
    const [a, b, c] = [registry.open(key('k')), registry.open(key('k')), registry.open(key('other'))];
    expect(registry.closeKey('k')).toBe(2);
    expect(registry.closeKey('k')).toBe(0);
    expect([a.reason, b.reason, c.reason]).toEqual(['revoked', 'revoked', undefined]);
  });
});
