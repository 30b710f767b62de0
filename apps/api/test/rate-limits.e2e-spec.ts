import type { Response } from 'supertest';
import { as, startTestApp, TestApp } from './support/test-app';
import { uuid } from './support/scenario';

const SOME_CONVERSATION = `/v1/conversations/${uuid(0x77)}`;

/** Fires `n` requests one after another; the statuses, and the seconds it took. */
async function flood(
  n: number,
  send: (i: number) => Promise<Response>,
): Promise<{ responses: Response[]; seconds: number }> {
  const started = Date.now();
  const responses: Response[] = [];
  for (let i = 0; i < n; i++) responses.push(await send(i));
  return { responses, seconds: (Date.now() - started) / 1000 };
}

/** How many were let through before the first 429. */
const beforeFirst429 = (responses: Response[]) => {
  const at = responses.findIndex((r) => r.status === 429);
  return at < 0 ? responses.length : at;
};

function expectRateLimited(res: Response): void {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 429, code: 'RATE_LIMITED', title: 'Too Many Requests' });
  expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
}

describe('Rate limits', () => {
  describe('per API key (1 request/s, burst 5)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_PER_KEY: '1', RATE_LIMIT_BURST: '5' });
    });
    afterAll(() => t.close());

    it('refuses a flood from one key with 429 RATE_LIMITED and Retry-After, and lets another key through', async () => {
      const flooder = as(t, await t.key('writer', 'acme'));
      const other = as(t, await t.key('writer', 'acme'));
      const { responses, seconds } = await flood(15, () => flooder.get(SOME_CONVERSATION));
      const through = beforeFirst429(responses);
      expect(through).toBeGreaterThanOrEqual(5);
      expect(through).toBeLessThanOrEqual(5 + Math.ceil(seconds));
      expect(responses.slice(0, through).every((r) => r.status === 404)).toBe(true);
      expectRateLimited(responses[through]);
      expect((await other.get(SOME_CONVERSATION)).status).toBe(404);
    });
  });

  describe('per client address, before authentication (1 request/s, burst 10)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_PER_ADDRESS: '1', RATE_LIMIT_ADDRESS_BURST: '10' });
    });
    afterAll(() => t.close());

    it(
      'refuses a flood of bogus keys from one address, ' +
        'each failure counting double, whatever X-Forwarded-For says',
      async () => {
        const valid = as(t, await t.key('writer', 'acme'));
        const { responses, seconds } = await flood(20, (i) =>
          t
            .http()
            .get(SOME_CONVERSATION)
            .set('Authorization', `Bearer csk_bogus_${i}`)
            .set('X-Forwarded-For', `198.51.100.${i}`),
        );
        const through = beforeFirst429(responses);
        // 10 tokens, 2 per failed authentication: 5, plus what refilled meanwhile.
        expect(through).toBeGreaterThanOrEqual(5);
        expect(through).toBeLessThanOrEqual(5 + Math.ceil(seconds));
        expect(responses.slice(0, through).every((r) => r.status === 401)).toBe(true);
        expectRateLimited(responses[through]);
        expect(responses.slice(through).filter((r) => r.status !== 429).length).toBeLessThanOrEqual(Math.ceil(seconds));

        // The address is over its rate: a valid key from it waits too, and /health is never limited.
        expectRateLimited(await valid.get(SOME_CONVERSATION));
        for (let i = 0; i < 3; i++) expect((await t.http().get('/health')).status).toBe(200);
      },
    );
  });

  describe('per client address, on paths the service does not serve (1 request/s, burst 5)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_PER_ADDRESS: '1', RATE_LIMIT_ADDRESS_BURST: '5' });
    });
    afterAll(() => t.close());

    // Red team of issue 9: the refusal was answered as the 404 or 405 of the path, without Retry-After.
    it.each([
      ['unknown paths', (i: number) => t.http().get(`/no-such-path/${i}`), 404],
      ['another method on a served path (OPTIONS)', () => t.http().options('/v1/audit/ends'), 405],
    ])('answers a flood of %s with 429 RATE_LIMITED and Retry-After', async (_, send, status) => {
      await new Promise((resolve) => setTimeout(resolve, 5_000)); // a full bucket again
      const { responses, seconds } = await flood(12, send);
      const through = beforeFirst429(responses);
      expect(through).toBeGreaterThanOrEqual(5);
      expect(through).toBeLessThanOrEqual(5 + Math.ceil(seconds));
      expect(responses.slice(0, through).every((r) => r.status === status)).toBe(true);
      expectRateLimited(responses[through]);
    });
  });

  describe('switched off (RATE_LIMITS=off)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({
        RATE_LIMITS: 'off',
        RATE_LIMIT_PER_KEY: '1',
        RATE_LIMIT_BURST: '1',
        RATE_LIMIT_ADDRESS_BURST: '1',
      });
    });
    afterAll(() => t.close());

    it('lets every request through', async () => {
      const writer = as(t, await t.key('writer', 'acme'));
      const { responses } = await flood(5, () => writer.get(SOME_CONVERSATION));
      expect(responses.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    });
  });
});
