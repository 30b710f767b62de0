import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ApiKeyResolver } from '../src/auth/api-key-resolver';
import { createApiKey, hashKey, revokeApiKey } from '@app/access';
import { getAs, LogCapture, startAppOn } from './support/app-on';
import { uuid } from './support/scenario';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** An authenticated read that finds nothing: 404 with a valid key, 401 without. */
const PROBE = `/v1/conversations/${uuid(0x404)}`;

/** Polls until `done` or `ms` pass; returns whether it became true. */
async function within(ms: number, done: () => Promise<boolean>): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(20)) if (await done()) return true;
  return done();
}

/** CONTRACT.md "Trust boundary" › Keys: revocation everywhere within 1 s, expiry, coarse last use, logs, caches. */
describe('API key lifecycle', () => {
  let db: TestDatabase;
  let one: NestFastifyApplication;
  let two: NestFastifyApplication;
  const logs = new LogCapture();

  beforeAll(async () => {
    db = await createTestDatabase();
    one = await startAppOn(db.url, { LOG_LEVEL: 'info' }, logs);
    two = await startAppOn(db.url, { API_KEY_CACHE_SIZE: '50' });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await db.drop();
  });

  const newKey = async (more: { expiresAt?: Date; holder?: string } = {}) =>
    createApiKey(one.get(DataSource), { role: 'writer', tenantId: 'acme', ...more });

  describe('when a key is revoked', () => {
    it('stops working in every process within a second, though both had it cached', async () => {
      const { id, key } = await newKey();
      for (const app of [one, two]) expect((await getAs(app, key, PROBE)).status).toBe(404);
      const heard: string[] = [];
      const off = two.get(ApiKeyResolver).onRevoked((keyId) => heard.push(keyId));

      await revokeApiKey(one.get(DataSource), id.toUpperCase(), { actor: 'test' });
      const refused = await within(1_000, async () => {
        const statuses = await Promise.all([one, two].map(async (app) => (await getAs(app, key, PROBE)).status));
        return statuses.every((s) => s === 401);
      });
      off();
      expect(refused).toBe(true);
      const res = await getAs(one, key, PROBE);
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
      expect(heard).toEqual([id]);
    });

    it(
      'records the revocation as an event, ' + 'and answers the revoked key 401 from the database too (not cached)',
      async () => {
        const { id, key } = await newKey({ holder: 'Dana' });
        await revokeApiKey(one.get(DataSource), id, { actor: 'security-officer', reason: 'laptop lost' });
        expect((await getAs(two, key, PROBE)).status).toBe(401);
        const { rows } = await db.pool.query(
          'SELECT type, data, metadata FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
          [`apikey-${id}`],
        );
        expect(rows.map((r) => r.type)).toEqual(['ApiKeyCreated', 'ApiKeyRevoked']);
        expect(rows[1]).toMatchObject({
          data: { keyId: id, role: 'writer', tenantId: 'acme', holder: 'Dana', reason: 'laptop lost' },
          metadata: { actor: { type: 'operator', id: 'security-officer' }, osUser: expect.any(String) },
        });
        expect(JSON.stringify(rows)).not.toContain(hashKey(key));
      },
    );
  });

  describe('when a key expires', () => {
    it('stops working at its expiry, cached or never used, and tells a watcher', async () => {
      const expiresAt = new Date(Date.now() + 1_500);
      const used = await newKey({ expiresAt });
      const unused = await newKey({ expiresAt });
      expect((await getAs(one, used.key, PROBE)).status).toBe(404);
      const principal = await one.get(ApiKeyResolver).resolve(used.key);
      const ended = new Promise((resolve) => one.get(ApiKeyResolver).watch(principal!, resolve));
      await sleep(expiresAt.getTime() - Date.now() + 20);
      await expect(ended).resolves.toBe('expired');
      for (const key of [used.key, unused.key]) {
        const res = await getAs(one, key, PROBE);
        expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
      }
    });
  });

  it('writes last_used_at at the first use, then not again within the minute', async () => {
    const { id, key } = await newKey();
    const lastUsed = async () =>
      (await db.pool.query('SELECT last_used_at FROM api_keys WHERE id = $1', [id])).rows[0]
        .last_used_at as Date | null;
    expect(await lastUsed()).toBeNull();
    expect((await getAs(one, key, PROBE)).status).toBe(404);
    expect(await within(2_000, async () => (await lastUsed()) !== null)).toBe(true);
    const first = await lastUsed();
    for (let i = 0; i < 5; i++) expect((await getAs(one, key, PROBE)).status).toBe(404);
    await sleep(200);
    expect(await lastUsed()).toEqual(first);
  });

  it('names the key id, role and tenant in every request log line, never the key', async () => {
    const { id, key } = await newKey();
    const [known, bogus] = [`/v1/conversations/${uuid(0x10a)}`, `/v1/conversations/${uuid(0x10b)}`];
    await getAs(one, key, known);
    await getAs(one, 'csk_bogus-key-for-the-log', bogus);
    const line = (url: string) => logs.lines.find((l) => (l.req as { url?: string } | undefined)?.url === url);
    expect(await within(2_000, async () => line(bogus) !== undefined)).toBe(true);
    expect(line(known)).toMatchObject({
      msg: 'request completed',
      keyId: id,
      role: 'writer',
      tenantId: 'acme',
      res: { statusCode: 404 },
    });
    expect(line(bogus)).toMatchObject({ res: { statusCode: 401 } });
    expect(line(bogus)).not.toHaveProperty('keyId');
    const text = logs.text.join('');
    for (const secret of [key, key.slice(4), hashKey(key), 'csk_bogus-key-for-the-log'])
      expect(text).not.toContain(secret);
  });

  describe('caches known and unknown keys apart', () => {
    // Deleting a key's row as the owner, without a revocation (no NOTIFY), is invisible to a
    // process that still has the key cached, and a 401 for one that had to look it up again.
    const forgetInTable = (id: string) => db.pool.query('DELETE FROM api_keys WHERE id = $1', [id]);

    it('keeps a real key cached through a flood of bogus keys larger than the cache', async () => {
      const real = await newKey();
      expect((await getAs(two, real.key, PROBE)).status).toBe(404);
      for (let i = 0; i < 200; i++) expect((await getAs(two, `csk_bogus-${i}`, PROBE)).status).toBe(401);
      expect(two.get(ApiKeyResolver).cacheSizes.unknown).toBe(50);
      await forgetInTable(real.id);
      expect((await getAs(two, real.key, PROBE)).status).toBe(404);
    });

    it('(the check above can fail: real keys beyond the cache do evict a real key)', async () => {
      const real = await newKey();
      expect((await getAs(two, real.key, PROBE)).status).toBe(404);
      for (let i = 0; i < 50; i++) expect((await getAs(two, (await newKey()).key, PROBE)).status).toBe(404);
      await forgetInTable(real.id);
      expect((await getAs(two, real.key, PROBE)).status).toBe(401);
    });
  });
});
