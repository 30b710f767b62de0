import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store: an append-only, hash-chained log of events in streams.
 * Hand-written SQL: the append path and the commit-order read are the product's core.
 */
export class EventStore1764400000000 implements MigrationInterface {
  name = 'EventStore1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE es_streams (
        stream_id   text PRIMARY KEY,
        version     bigint NOT NULL,
        head_hash   char(64) NOT NULL,
        -- the head before the last append, so that one UPDATE can lock, advance and return it
        prev_head_hash char(64) NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE es_events (
        position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id       text NOT NULL,
        stream_version  bigint NOT NULL CHECK (stream_version > 0),
        event_id        uuid NOT NULL UNIQUE,
        type            text NOT NULL,
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL,
        occurred_at     timestamptz NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        prev_hash       char(64) NOT NULL,
        hash            char(64) NOT NULL,
        UNIQUE (stream_id, stream_version)
      )`);
    // Commit-order reads walk (transaction_id, position).
    await q.query(`CREATE INDEX es_events_commit_order ON es_events (transaction_id, position)`);

    await q.query(`
      CREATE TABLE es_idempotency (
        scope         text NOT NULL,
        key           text NOT NULL,
        request_hash  char(64) NOT NULL,
        stream_id     text NOT NULL,
        -- the key is claimed before the versions are known: a replay reads its result back
        -- from these events
        event_ids     uuid[] NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      )`);

    // recorded_at and transaction_id are the database's, whatever a caller sends.
    await q.query(`
      CREATE FUNCTION es_events_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.recorded_at := now();
        NEW.transaction_id := pg_current_xact_id();
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER es_events_stamp BEFORE INSERT ON es_events FOR EACH ROW EXECUTE FUNCTION es_events_stamp()`);

    // Append-only for every role, owner and superuser included. ENABLE ALWAYS makes the
    // triggers fire under session_replication_role = replica as well.
    await q.query(`
      CREATE FUNCTION es_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'es_events is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TRIGGER es_events_no_update BEFORE UPDATE OR DELETE ON es_events FOR EACH ROW EXECUTE FUNCTION es_events_append_only()`);
    await q.query(`CREATE TRIGGER es_events_no_truncate BEFORE TRUNCATE ON es_events FOR EACH STATEMENT EXECUTE FUNCTION es_events_append_only()`);
    await q.query(`ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_stamp`);
    await q.query(`ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update`);
    await q.query(`ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_truncate`);

    await q.query(CHAIN_FUNCTION);
    await q.query(APPEND_BATCH_FUNCTION);
    await q.query(APPEND_FUNCTION);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION es_append`);
    await q.query(`DROP FUNCTION es_append_batch`);
    await q.query(`DROP FUNCTION es_chain`);
    await q.query(`DROP TABLE es_idempotency`);
    await q.query(`DROP TABLE es_events`);
    await q.query(`DROP TABLE es_streams`);
    await q.query(`DROP FUNCTION es_events_append_only`);
    await q.query(`DROP FUNCTION es_events_stamp`);
  }
}

/**
 * The head hash after chaining p_bodies onto p_head, the first at version p_version + 1.
 * p_bodies[i] is the RFC 8785 canonical JSON of an event without its version, which is the
 * last key in canonical order: the hashed text is prev || body || version || '}'.
 */
const CHAIN_FUNCTION = `
CREATE FUNCTION es_chain(p_head text, p_version bigint, p_bodies text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  v_hashes text[] := '{}';
  v_hash   text := p_head;
BEGIN
  FOR i IN 1 .. cardinality(p_bodies) LOOP
    v_hash := encode(sha256(convert_to(v_hash || p_bodies[i] || (p_version + i)::text || '}', 'UTF8')), 'hex');
    v_hashes := v_hashes || v_hash;
  END LOOP;
  RETURN v_hashes;
END $$`;

/**
 * Group commit: many appends in one round trip and one transaction, each with its own
 * outcome. A refused append writes nothing and fails no other, without subtransactions:
 * its idempotency key is claimed first (ON CONFLICT DO NOTHING waits for a concurrent claim
 * to commit or roll back, so the same key twice, in one batch or in two, appends once) and
 * released again when its version check fails. A key is checked before the version, so a
 * retry of an append that landed is a replay, not a conflict.
 *
 * p_appends: [{s: stream id, v: expected, e: [{eventId, type, data, metadata, occurredAt,
 * body}], sc, k, h: idempotency scope, key and request hash (absent without a key)}].
 * v: >= 0 an exact version (0 = no stream), -1 any, -2 the stream must exist.
 * body: the RFC 8785 canonical JSON of the event without its version (see es_chain).
 * Returns one element per append, in input order: the result {streamId, firstVersion,
 * lastVersion, transactionId, lastPosition, eventIds, replayed}, {"conflict": the current
 * version} or {"reused": true}.
 *
 * Appends run in ascending stream id order (byte order, stable for one stream), so batches
 * from any number of processes lock stream rows in one global order. The events of the
 * whole batch go in with one INSERT at the end, in that order.
 */
const APPEND_BATCH_FUNCTION = `
CREATE FUNCTION es_append_batch(p_appends jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  a          record;
  v_count    constant int := jsonb_array_length(p_appends);
  v_n        int;
  v_version  bigint;
  v_prev     text;
  v_claim    record;
  v_genesis  constant text := repeat('0', 64);
  -- per append, by input index
  r_kind     text[] := array_fill(NULL::text, ARRAY[v_count]);
  r_ids      jsonb[] := array_fill(NULL::jsonb, ARRAY[v_count]);
  r_actual   bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
  w_base     bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
  w_prev     text[] := array_fill(NULL::text, ARRAY[v_count]);
  w_seq0     int[] := array_fill(NULL::int, ARRAY[v_count]);
  -- per event to write, in lock order
  ev_item    int[] := '{}';
  ev_hash    text[] := '{}';
BEGIN
  FOR a IN
    SELECT t.i::int AS i, t.x ->> 's' AS stream_id, (t.x ->> 'v')::bigint AS expected,
           ARRAY(SELECT e ->> 'body' FROM jsonb_array_elements(t.x -> 'e') WITH ORDINALITY AS b(e, o) ORDER BY o) AS bodies,
           ARRAY(SELECT (e ->> 'eventId')::uuid FROM jsonb_array_elements(t.x -> 'e') WITH ORDINALITY AS b(e, o) ORDER BY o) AS ids,
           t.x ->> 'sc' AS scope, t.x ->> 'k' AS key, t.x ->> 'h' AS request_hash
      FROM jsonb_array_elements(p_appends) WITH ORDINALITY AS t(x, i)
     ORDER BY t.x ->> 's' COLLATE "C", t.i
  LOOP
    v_n := cardinality(a.bodies);
    IF a.key IS NOT NULL THEN
      INSERT INTO es_idempotency (scope, key, request_hash, stream_id, event_ids)
      VALUES (a.scope, a.key, a.request_hash, a.stream_id, a.ids)
      ON CONFLICT DO NOTHING;
      IF NOT FOUND THEN
        SELECT request_hash, event_ids INTO v_claim FROM es_idempotency WHERE scope = a.scope AND key = a.key;
        r_kind[a.i] := CASE WHEN v_claim.request_hash = a.request_hash THEN 'replayed' ELSE 'reused' END;
        r_ids[a.i] := to_jsonb(v_claim.event_ids);
        CONTINUE;
      END IF;
    END IF;

    -- Lock, check and advance in one statement; concurrent appenders queue on the row and
    -- re-check the condition against the version they find.
    UPDATE es_streams
       SET version = version + v_n,
           prev_head_hash = head_hash,
           head_hash = (es_chain(head_hash, version, a.bodies))[v_n],
           updated_at = now()
     WHERE stream_id = a.stream_id AND (a.expected < 0 OR version = a.expected)
    RETURNING version - v_n, prev_head_hash INTO v_version, v_prev;
    IF NOT FOUND AND a.expected IN (-1, 0) THEN
      INSERT INTO es_streams (stream_id, version, head_hash, prev_head_hash)
      VALUES (a.stream_id, v_n, (es_chain(v_genesis, 0, a.bodies))[v_n], v_genesis)
      ON CONFLICT DO NOTHING
      RETURNING 0, prev_head_hash INTO v_version, v_prev;
      IF NOT FOUND AND a.expected = -1 THEN
        -- created by a concurrent append in the meantime: queue behind it
        UPDATE es_streams
           SET version = version + v_n,
               prev_head_hash = head_hash,
               head_hash = (es_chain(head_hash, version, a.bodies))[v_n],
               updated_at = now()
         WHERE stream_id = a.stream_id
        RETURNING version - v_n, prev_head_hash INTO v_version, v_prev;
      END IF;
    END IF;
    IF v_version IS NULL THEN
      IF a.key IS NOT NULL THEN
        DELETE FROM es_idempotency WHERE scope = a.scope AND key = a.key;
      END IF;
      r_kind[a.i] := 'conflict';
      r_actual[a.i] := coalesce((SELECT version FROM es_streams WHERE stream_id = a.stream_id), 0);
      CONTINUE;
    END IF;

    r_kind[a.i] := 'ok';
    r_ids[a.i] := to_jsonb(a.ids);
    w_base[a.i] := v_version;
    w_prev[a.i] := v_prev;
    w_seq0[a.i] := cardinality(ev_hash);
    ev_item := ev_item || array_fill(a.i, ARRAY[v_n]);
    ev_hash := ev_hash || es_chain(v_prev, v_version, a.bodies);
  END LOOP;

  INSERT INTO es_events (stream_id, stream_version, event_id, type, data, metadata, occurred_at, prev_hash, hash)
  SELECT p_appends -> (w.item - 1) ->> 's', w_base[w.item] + w.k, (ev.j ->> 'eventId')::uuid, ev.j ->> 'type',
         ev.j -> 'data', ev.j -> 'metadata', (ev.j ->> 'occurredAt')::timestamptz,
         CASE WHEN w.k = 1 THEN w_prev[w.item] ELSE ev_hash[w.seq - 1] END, ev_hash[w.seq]
    FROM (SELECT u.item, u.seq::int AS seq, u.seq::int - w_seq0[u.item] AS k
            FROM unnest(ev_item) WITH ORDINALITY AS u(item, seq)) w
   CROSS JOIN LATERAL (SELECT p_appends -> (w.item - 1) -> 'e' -> (w.k - 1) AS j) ev
   ORDER BY w.seq;

  -- A result, first or replayed, is read back from the append's last event.
  RETURN (
    SELECT jsonb_agg(
             CASE r.kind
               WHEN 'conflict' THEN jsonb_build_object('conflict', r_actual[r.i])
               WHEN 'reused' THEN '{"reused": true}'::jsonb
               ELSE jsonb_build_object(
                 'streamId', e.stream_id,
                 'firstVersion', e.stream_version - jsonb_array_length(r_ids[r.i]) + 1,
                 'lastVersion', e.stream_version,
                 'transactionId', e.transaction_id::text,
                 'lastPosition', e.position::text,
                 'eventIds', r_ids[r.i],
                 'replayed', r.kind = 'replayed')
             END ORDER BY r.i)
      FROM (SELECT k AS kind, i::int AS i FROM unnest(r_kind) WITH ORDINALITY AS u(k, i)) r
      LEFT JOIN es_events e ON r.kind IN ('ok', 'replayed') AND e.event_id = (r_ids[r.i] ->> -1)::uuid);
END $$`;

/**
 * One append, for callers in SQL: es_append_batch with failures raised, rolling back the
 * caller's transaction. SQLSTATE ES001: version conflict (DETAIL = the current version);
 * ES002: idempotency key reused. p_events as the batch's "e".
 */
const APPEND_FUNCTION = `
CREATE FUNCTION es_append(
  p_stream_id text, p_expected bigint, p_events jsonb,
  p_idem_scope text, p_idem_key text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_result jsonb;
BEGIN
  v_result := es_append_batch(jsonb_build_array(jsonb_build_object(
    's', p_stream_id, 'v', p_expected, 'e', p_events,
    'sc', p_idem_scope, 'k', p_idem_key, 'h', p_request_hash))) -> 0;
  IF v_result ? 'conflict' THEN
    RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id, v_result ->> 'conflict', p_expected
      USING ERRCODE = 'ES001', DETAIL = v_result ->> 'conflict';
  END IF;
  IF v_result ? 'reused' THEN
    RAISE EXCEPTION 'idempotency key reused with another request' USING ERRCODE = 'ES002';
  END IF;
  RETURN v_result;
END $$`;
