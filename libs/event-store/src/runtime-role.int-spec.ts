import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { canonicalBody, NewEvent, PostgresEventStore } from '@app/event-store';

const AT = '2026-01-02T03:04:05.678Z';
const event = (type = 'Happened'): NewEvent => ({
  eventId: randomUUID(),
  type,
  data: { n: 1 },
  metadata: { actor: { type: 'user', id: 'u-1' } },
  occurredAt: AT,
});

/** Refused by the database's rights, not by the append-only trigger (which the owner could disable). */
const REFUSED = /permission denied|must be owner/;

/**
 * The running service connects as a login granted only conversations_app (the test runs use
 * cs_test_runtime). Whatever it sends, it cannot switch the append-only guard off, rewrite the
 * record or its stream heads, replace the append functions, or become the owner; it still
 * appends through the functions. Each attack here succeeded when the service ran as the owner.
 */
describe('the runtime role (conversations_app)', () => {
  let db: TestDatabase;
  let runtime: Pool;
  let store: PostgresEventStore;
  let streamId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 4 });
    runtime.on('error', () => undefined);
    store = new PostgresEventStore(runtime);
    streamId = `s-${randomUUID()}`;
    await store.append(streamId, [event('First'), event('Second')], { expectedVersion: 'no_stream' });
  });
  afterAll(async () => {
    await store.close();
    await runtime.end();
    await db.drop();
  });

  const refused = async (sql: string, params: unknown[] = []) => {
    const err = await runtime.query(sql, params).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe('42501');
    expect(err!.message).toMatch(REFUSED);
  };

  it('is not the owner: the connection is cs_test_runtime, no superuser', async () => {
    const { rows } = await runtime.query(
      'SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su',
    );
    expect(rows[0]).toEqual({ u: 'cs_test_runtime', su: false });
  });

  it.each([
    ['ALTER TABLE es_events DISABLE TRIGGER ALL'],
    ['ALTER TABLE es_events DISABLE TRIGGER es_events_no_update'],
    ['ALTER TABLE es_events ENABLE REPLICA TRIGGER es_events_no_update'],
    ['DROP TRIGGER es_events_no_update ON es_events'],
  ])('refuses to switch the append-only guard off: %s', (sql) => refused(sql));

  it('refuses to rewrite an event, even in a transaction that first disables the triggers', async () => {
    const c = await runtime.connect();
    try {
      await c.query('BEGIN');
      await expect(c.query('ALTER TABLE es_events DISABLE TRIGGER USER')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
    await refused(`UPDATE es_events SET data = '{"n": 2}' WHERE stream_id = $1 AND stream_version = 1`, [streamId]);
  });

  it.each([
    ['UPDATE es_events SET type = type'],
    ['DELETE FROM es_events'],
    ['TRUNCATE es_events'],
    [
      'INSERT INTO es_events ' +
        '(stream_id, stream_version, event_id, type, data, metadata, occurred_at, prev_hash, hash) ' +
        "VALUES ('forged', 1, gen_random_uuid(), 'X', '{}', '{}', now(), repeat('0', 64), repeat('0', 64))",
    ],
    ["UPDATE es_streams SET head_hash = repeat('0', 64)"],
    ['UPDATE es_streams SET version = version - 1'],
    ['DELETE FROM es_streams'],
    ['TRUNCATE es_streams'],
    ["INSERT INTO es_streams (stream_id, version, head_hash) VALUES ('forged', 9, repeat('0', 64))"],
    ['DELETE FROM es_idempotency'],
    ['TRUNCATE es_idempotency'],
    ['TRUNCATE es_events, es_streams, es_idempotency CASCADE'],
  ])('refuses to touch the record: %s', (sql) => refused(sql));

  it.each([
    ['DROP FUNCTION es_append_bodies'],
    ['DROP FUNCTION es_append_batch_bodies'],
    ['DROP FUNCTION es_idempotent_result'],
    ['ALTER FUNCTION es_append_bodies SECURITY INVOKER'],
    [
      'CREATE OR REPLACE FUNCTION es_idempotent_result' +
        `(p_scope text, p_key text, OUT request_hash text, OUT result jsonb)
       LANGUAGE sql AS $$ SELECT NULL::text, NULL::jsonb $$`,
    ],
    [
      'CREATE OR REPLACE FUNCTION es_append_bodies' +
        `(p_stream_id text, p_expected bigint, p_event_ids uuid[], p_bodies text,
         p_idem_scope text, p_idem_key text, p_request_hash text) RETURNS jsonb ` +
        `LANGUAGE sql AS $$ SELECT '{}'::jsonb $$`,
    ],
    ['CREATE TABLE public.shadow (id int)'],
    ['CREATE FUNCTION public.shadow() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'],
    ['CREATE VIEW public.shadow AS SELECT 1 AS one'],
    ['ALTER TABLE es_events OWNER TO cs_test_runtime'],
  ])('refuses to replace the append functions or add to the schema: %s', (sql) => refused(sql));

  it('cannot grant itself more: GRANT UPDATE ON es_events grants nothing', async () => {
    await runtime.query('GRANT UPDATE ON es_events TO cs_test_runtime');
    const { rows } = await runtime.query(`SELECT has_table_privilege('es_events', 'UPDATE') AS can`);
    expect(rows[0].can).toBe(false);
  });

  it('refuses SET ROLE to the owner of es_events', async () => {
    const { rows } = await runtime.query(
      `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'es_events'::regclass`,
    );
    await refused(`SET ROLE "${rows[0].owner}"`);
    await refused(`SET SESSION AUTHORIZATION "${rows[0].owner}"`);
  });

  it('still appends through the functions, in batches and alone, and the chain verifies', async () => {
    await Promise.all([1, 2, 3].map(() => store.append(streamId, [event('Concurrent')], { expectedVersion: 'any' })));
    const replay = {
      idempotency: { scope: 't', key: 'k-1', requestHash: 'a'.repeat(64) },
      expectedVersion: 'any' as const,
    };
    const first = await store.append(streamId, [event('Keyed')], replay);
    expect(await store.append(streamId, [event('Keyed')], replay)).toMatchObject({
      position: first.position,
      replayed: true,
    });
    expect(await store.verifyStream(streamId)).toEqual({ valid: true, count: 6 });
  });

  it(
    'appends to the real stream even when the session has ' + 'a temporary table named like it (search_path pinned)',
    async () => {
      const c = new Client({ connectionString: db.runtimeUrl });
      await c.connect();
      try {
        const id = `s-${randomUUID()}`;
        // Without pg_temp last in the functions' search_path, this table would be the one they read and lock.
        await c.query(
          `CREATE TEMP TABLE es_streams (stream_id text PRIMARY KEY, version bigint NOT NULL, ` +
            `head_hash char(64) NOT NULL,
                     created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now())`,
        );
        await c.query(`INSERT INTO pg_temp.es_streams VALUES ($1, 41, repeat('f', 64))`, [id]);
        const e = event('Pinned');
        const body = canonicalBody({
          streamId: id,
          type: e.type,
          data: e.data,
          metadata: e.metadata,
          occurredAt: e.occurredAt,
        });
        const { rows } = await c.query(`SELECT es_append_bodies($1, -1, $2::uuid[], $3, NULL, NULL, NULL) AS r`, [
          id,
          [e.eventId],
          body,
        ]);
        expect(rows[0].r).toMatchObject({ firstVersion: 1, lastVersion: 1 });
        expect(await store.verifyStream(id)).toEqual({ valid: true, count: 1 });
      } finally {
        await c.end();
      }
    },
  );

  describe('api_keys (it may mark a revocation and a last use, nothing else)', () => {
    const keyId = randomUUID();
    beforeAll(async () => {
      await runtime.query(
        'INSERT INTO api_keys (id, key_hash, role, tenant_id, holder, expires_at) ' +
          `VALUES ($1, repeat('a', 64), 'writer', 'acme', 'Ann', now() + interval '1 day')`,
        [keyId],
      );
    });
    const guarded = (sql: string) =>
      expect(runtime.query(sql, [keyId])).rejects.toMatchObject({
        code: '23514',
        message: expect.stringMatching(/api key/),
      });

    it('records a last use', async () => {
      await runtime.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]);
    });

    it.each([
      [`UPDATE api_keys SET role = 'admin' WHERE id = $1`],
      [`UPDATE api_keys SET tenant_id = '*' WHERE id = $1`],
      [`UPDATE api_keys SET expires_at = NULL WHERE id = $1`],
      [`UPDATE api_keys SET key_hash = repeat('b', 64) WHERE id = $1`],
      [`UPDATE api_keys SET holder = 'Bob' WHERE id = $1`],
      [`UPDATE api_keys SET revoked_by = 'x' WHERE id = $1`],
    ])('refuses to widen or rename a key: %s', (sql) => guarded(sql));

    it('revokes once, and refuses to clear or move the revocation', async () => {
      await runtime.query(`UPDATE api_keys SET revoked_at = now(), revoked_by = 'ops' WHERE id = $1`, [keyId]);
      await guarded('UPDATE api_keys SET revoked_at = NULL, revoked_by = NULL WHERE id = $1');
      await guarded(`UPDATE api_keys SET revoked_at = now() + interval '1 year' WHERE id = $1`);
      await guarded(`UPDATE api_keys SET revoked_by = 'someone else' WHERE id = $1`);
      await runtime.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]);
    });

    it.each([
      ['ALTER TABLE api_keys DISABLE TRIGGER api_keys_guard'],
      ['DROP TRIGGER api_keys_guard ON api_keys'],
      ['DROP FUNCTION api_keys_guard()'],
    ])('cannot switch the guard off: %s', (sql) => refused(sql));
  });
});
