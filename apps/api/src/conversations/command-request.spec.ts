import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/api-keys';
import { commandContext } from './command-request';

const principal: Principal = { keyId: 'key-1', role: 'writer', tenantId: 'acme', holder: 'Ada', expiresAt: null };
const ID = '0000000a-0000-4000-8000-00000000000a';

function request(
  headers: Record<string, string | string[]> = {},
  path = `/v1/conversations/${ID}/messages`,
): FastifyRequest {
  const id = path.split('/')[3];
  return {
    id: 'req-7',
    method: 'POST',
    url: `${path}?x=1`,
    headers,
    params: { id },
    routeOptions: { url: '/v1/conversations/:id/messages' },
  } as unknown as FastifyRequest;
}

describe(commandContext.name, () => {
  it('is a caller’s command of the key, correlated by the request id when no X-Correlation-Id is given', () => {
    expect(commandContext(request(), principal, {})).toEqual({
      principal,
      origin: 'caller',
      ifMatch: undefined,
      idempotency: undefined,
      correlationId: 'req-7',
      causationId: undefined,
    });
  });

  it('takes X-Correlation-Id and X-Causation-Id up to 128 characters, else the defaults', () => {
    const ctx = commandContext(request({ 'x-correlation-id': 'corr', 'x-causation-id': 'cause' }), principal, {});
    expect([ctx.correlationId, ctx.causationId]).toEqual(['corr', 'cause']);
    const long = 'x'.repeat(129);
    const ignored = commandContext(request({ 'x-correlation-id': long, 'x-causation-id': long }), principal, {});
    expect([ignored.correlationId, ignored.causationId]).toEqual(['req-7', undefined]);
  });

  it.each([
    ['"3"', 3],
    ['W/"12"', 12],
    [' "0" ', 0],
  ])('reads If-Match %s as version %d', (header, version) => {
    expect(commandContext(request({ 'if-match': header }), principal, {}).ifMatch).toBe(version);
  });

  it.each(['3', '"a"', '*', '"1234567890123456"'])('refuses If-Match %s with 400 VALIDATION_FAILED', (header) => {
    expect(() => commandContext(request({ 'if-match': header }), principal, {})).toThrow(
      expect.objectContaining({ status: 400, code: 'VALIDATION_FAILED' }),
    );
  });

  it.each(['', 'é', 'a b', 'k'.repeat(201)])('refuses the Idempotency-Key %j with 400 VALIDATION_FAILED', (key) => {
    expect(() => commandContext(request({ 'idempotency-key': key }), principal, {})).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });

  describe('with an Idempotency-Key', () => {
    const hashOf = (path: string, body: unknown) =>
      commandContext(request({ 'idempotency-key': 'k-1' }, path), principal, body).idempotency;

    it('hashes the request: the same for the same body and an id in either case, another for another body', () => {
      const first = hashOf(`/v1/conversations/${ID}/messages`, { content: 'a' });
      expect(first).toEqual({ key: 'k-1', requestHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(hashOf(`/v1/conversations/${ID.toUpperCase()}/messages`, { content: 'a' })).toEqual(first);
      expect(hashOf(`/v1/conversations/${ID}/messages`, { content: 'b' })?.requestHash).not.toBe(first?.requestHash);
    });

    it('takes the first of repeated headers', () => {
      expect(commandContext(request({ 'idempotency-key': ['k-1', 'k-2'] }), principal, {}).idempotency?.key).toBe(
        'k-1',
      );
    });
  });
});
