import { PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, rebuildProjections } from '@app/projections';
import type { DataSource } from 'typeorm';
import { createTestDatabase, openTestDataSource, TestDatabase } from '@app/testing';
import { ApiKeyEntity, hashKey, recordUnrecordedKeys } from '@app/access';
import { UsageError } from '../args';
import { keysCreate, parseExpiry } from './keys-create.command';
import { keysList } from './keys-list.command';
import { keysRevoke } from './keys-revoke.command';

/** keys:create, keys:list and keys:revoke (CONTRACT.md "Trust boundary" › Keys) on a real database. */
describe('CLI key commands', () => {
  let db: TestDatabase;
  /** The key commands' DataSource, as main.ts opens it (here as the owner). */
  let keyDb: DataSource;
  let out: string[];
  let err: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    keyDb = await openTestDataSource(db.url, [ApiKeyEntity], 'conversation-cli');
  });
  afterAll(async () => {
    await keyDb.destroy();
    await db.drop();
  });
  beforeEach(() => {
    out = [];
    err = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    jest.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  });
  afterEach(() => jest.restoreAllMocks());

  const count = async (sql: string) =>
    Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`)).rows[0].n);
  const create = async (flags: Record<string, string | true>) => {
    await keysCreate(keyDb, flags);
    const key = out.at(-1)!;
    const id = /key ([0-9a-f-]{36})/.exec(out.at(-2)!)![1];
    return { id, key };
  };

  describe('keys:create', () => {
    it('creates a key with holder, label and expiry, and records ApiKeyCreated with them, never the key', async () => {
      const { id, key } = await create({
        role: 'auditor',
        tenant: 'acme',
        holder: 'Alice Martin',
        label: 'q3 review',
        expires: '90d',
        actor: 'ops-lead',
      });
      expect(key).toMatch(/^csk_[A-Za-z0-9_-]{43}$/);
      const { rows } = await db.pool.query(
        'SELECT holder, label, expires_at, created_at, created_by FROM api_keys WHERE id = $1',
        [id],
      );
      expect(rows[0]).toMatchObject({ holder: 'Alice Martin', label: 'q3 review', created_by: 'ops-lead' });
      const days = (rows[0].expires_at.getTime() - rows[0].created_at.getTime()) / 86_400_000;
      expect(Math.round(days)).toBe(90);
      const events = await db.pool.query(
        'SELECT type, data, metadata, occurred_at FROM es_events WHERE stream_id = $1',
        [`apikey-${id}`],
      );
      expect(events.rows).toEqual([
        {
          type: 'ApiKeyCreated',
          data: {
            keyId: id,
            role: 'auditor',
            tenantId: 'acme',
            holder: 'Alice Martin',
            label: 'q3 review',
            expiresAt: rows[0].expires_at.toISOString(),
          },
          metadata: {
            actor: { type: 'operator', id: 'ops-lead' },
            osUser: expect.any(String),
            host: expect.any(String),
          },
          occurred_at: rows[0].created_at,
        },
      ]);
      expect(JSON.stringify(events.rows)).not.toContain(hashKey(key));
      expect(JSON.stringify(events.rows)).not.toContain(key);
    });

    it('records the OS user as the actor when no --actor is given', async () => {
      const { id } = await create({ role: 'writer', tenant: 'acme' });
      const { rows } = await db.pool.query('SELECT metadata FROM es_events WHERE stream_id = $1', [`apikey-${id}`]);
      expect(rows[0].metadata.actor).toEqual({ type: 'operator', id: rows[0].metadata.osUser });
    });

    it.each([
      [{ role: 'root', tenant: 'acme' }, '--role'],
      [{ role: 'writer', tenant: '*' }, '--tenant'],
      [{ role: 'writer', tenant: 'a b' }, '--tenant'],
      [{ role: 'writer', tenant: 'acme', expires: '90' }, '--expires'],
      [{ role: 'writer', tenant: 'acme', expires: '0d' }, '--expires'],
      [{ role: 'writer', tenant: 'acme', expires: '-3d' }, '--expires'],
      [{ role: 'writer', tenant: 'acme', expires: '3651d' }, '--expires'],
      [{ role: 'writer', tenant: 'acme', expires: true }, '--expires'],
      [{ role: 'writer', tenant: 'acme', holder: '   ' }, '--holder'],
      [{ role: 'writer', tenant: 'acme', holder: true }, '--holder'],
      [{ role: 'writer', tenant: 'acme', holder: 'a\u0007b' }, '--holder'],
      [{ role: 'writer', tenant: 'acme', label: 'x'.repeat(201) }, '--label'],
      [{ role: 'writer', tenant: 'acme', expire: '90d' }, '--expire'],
      [{ tenant: 'acme' }, '--role'],
    ])('refuses %p naming %s, and writes nothing', async (flags, flag) => {
      const [keys, events] = [await count('api_keys'), await count('es_events')];
      const failure = keysCreate(keyDb, flags as Record<string, string | true>);
      await expect(failure).rejects.toThrow(UsageError);
      await expect(failure).rejects.toThrow(flag);
      expect([await count('api_keys'), await count('es_events')]).toEqual([keys, events]);
    });

    it('writes neither the key nor its event when the event cannot be appended', async () => {
      await db.pool.query(
        'CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql ' +
          `AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`,
      );
      await db.pool.query(
        'CREATE TRIGGER test_refuse BEFORE INSERT ON es_events FOR EACH ROW ' +
          `WHEN (NEW.type = 'ApiKeyCreated') EXECUTE FUNCTION test_refuse()`,
      );
      try {
        const keys = await count('api_keys');
        await expect(keysCreate(keyDb, { role: 'writer', tenant: 'acme' })).rejects.toThrow('refused by test');
        expect(await count('api_keys')).toBe(keys);
      } finally {
        await db.pool.query('DROP TRIGGER test_refuse ON es_events');
        await db.pool.query('DROP FUNCTION test_refuse');
      }
    });
  });

  describe('keys:list', () => {
    it(
      'shows id, label, holder, role, tenant, created, ' + 'last used, expires and revoked; never a key or its hash',
      async () => {
        const a = await create({ role: 'operator', tenant: 'globex', holder: 'Bob', label: 'night shift' });
        const b = await create({ role: 'writer', tenant: 'globex' });
        await db.pool.query('UPDATE api_keys SET last_used_at = created_at WHERE id = $1', [b.id]);
        await keysRevoke(keyDb, [b.id], {});
        out = [];
        await keysList(keyDb, {});
        expect(out[0].split(/\s{2,}/)).toEqual([
          'id',
          'label',
          'holder',
          'role',
          'tenant',
          'created',
          'last used',
          'expires',
          'revoked',
        ]);
        const row = (id: string) => out.find((l) => l.startsWith(id))!.split(/\s{2,}/);
        const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
        expect(row(a.id)).toEqual([a.id, 'night shift', 'Bob', 'operator', 'globex', ISO, '-', '-', '-']);
        expect(row(b.id)).toEqual([b.id, '-', '-', 'writer', 'globex', ISO, ISO, '-', ISO]);
        const text = out.join('\n');
        for (const { key } of [a, b]) {
          expect(text).not.toContain(key);
          expect(text).not.toContain(hashKey(key));
        }
        const hashes = (await db.pool.query<{ key_hash: string }>('SELECT key_hash FROM api_keys')).rows;
        for (const { key_hash } of hashes) expect(text).not.toContain(key_hash);
      },
    );

    it('refuses flags it does not know', async () => {
      await expect(keysList(keyDb, { all: true })).rejects.toThrow('--all');
    });
  });

  describe('keys:revoke', () => {
    it('revokes by id in any letter case, once; again is a no-op that changes nothing', async () => {
      const { id } = await create({ role: 'writer', tenant: 'acme' });
      expect(await keysRevoke(keyDb, [id.toUpperCase()], { reason: 'rotated', actor: 'ops-lead' })).toBe(0);
      expect(out.at(-1)).toMatch(new RegExp(`^revoked key ${id} at `));
      const events = await count(`es_events WHERE stream_id = 'apikey-${id}'`);
      expect(await keysRevoke(keyDb, [id], {})).toBe(0);
      expect(out.at(-1)).toMatch(/was revoked already/);
      expect(await count(`es_events WHERE stream_id = 'apikey-${id}'`)).toBe(events);
      const { rows } = await db.pool.query('SELECT revoked_at, revoked_by FROM api_keys WHERE id = $1', [id]);
      expect(rows[0]).toEqual({ revoked_at: expect.any(Date), revoked_by: 'ops-lead' });
    });

    it('answers an unknown id with a clear message and exit code 1, a malformed one as a usage error', async () => {
      const unknown = '00000000-0000-4000-8000-0000000000ff';
      expect(await keysRevoke(keyDb, [unknown.toUpperCase()], {})).toBe(1);
      expect(err.at(-1)).toBe(`no API key has the id ${unknown}`);
      await expect(keysRevoke(keyDb, ['not-a-uuid'], {})).rejects.toThrow(UsageError);
      await expect(keysRevoke(keyDb, [], {})).rejects.toThrow(UsageError);
      await expect(keysRevoke(keyDb, [unknown], { reson: 'typo' })).rejects.toThrow('--reson');
    });

    it('records the creation of a key made before keys had events, then its revocation', async () => {
      const id = '00000000-0000-4000-8000-0000000000aa';
      await db.pool.query(
        'INSERT INTO api_keys (id, key_hash, role, tenant_id, created_at) ' +
          `VALUES ($1, $2, 'writer', 'acme', '2025-01-01T00:00:00Z')`,
        [id, hashKey('legacy')],
      );
      expect(await keysRevoke(keyDb, [id], {})).toBe(0);
      const { rows } = await db.pool.query(
        'SELECT type, occurred_at, metadata FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
        [`apikey-${id}`],
      );
      expect(rows.map((r) => [r.type, r.metadata.source])).toEqual([
        ['ApiKeyCreated', 'backfill'],
        ['ApiKeyRevoked', undefined],
      ]);
      expect(rows[0].occurred_at).toEqual(new Date('2025-01-01T00:00:00Z'));
    });
  });

  it('backfills legacy keys once, whoever runs it first', async () => {
    const id = '00000000-0000-4000-8000-0000000000bb';
    await db.pool.query(
      `INSERT INTO api_keys (id, key_hash, role, tenant_id, revoked_at) VALUES ($1, $2, 'auditor', '*', now())`,
      [id, hashKey('legacy-2')],
    );
    const clients = await Promise.all([db.pool.connect(), db.pool.connect()]);
    try {
      const counts = await Promise.all(clients.map((c) => recordUnrecordedKeys(c)));
      expect(counts.sort()).toEqual([0, 1]);
    } finally {
      clients.forEach((c) => c.release());
    }
    const { rows } = await db.pool.query('SELECT type FROM es_events WHERE stream_id = $1 ORDER BY stream_version', [
      `apikey-${id}`,
    ]);
    expect(rows.map((r) => r.type)).toEqual(['ApiKeyCreated', 'ApiKeyRevoked']);
  });

  it('leaves the projections untouched: key events are not conversation events', async () => {
    const store = new PostgresEventStore(db.pool);
    const total = await count('es_events');
    expect(total).toBeGreaterThan(5);
    // Readers see a commit once every older transaction of the cluster has ended (README, "Commit order").
    for (let i = 0; (await store.readAllRange({ limit: 10_000 }))?.count !== total; i++) {
      if (i === 500) throw new Error('the log did not become visible within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expect(rebuildProjections(db.pool, store, ALL_PROJECTIONS)).resolves.toBe(total);
    expect(await count('rm_conversations')).toBe(0);
    await store.close();
  });
});

describe(parseExpiry.name, () => {
  it('counts whole days from now', () => {
    expect(parseExpiry('90d', 0)).toEqual(new Date(90 * 86_400_000));
    expect(parseExpiry(undefined)).toBeUndefined();
  });
});
