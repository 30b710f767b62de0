import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store: an append-only, hash-chained log of events in streams.
 * Hand-written SQL: the append path and the commit-order read are the product's core.
 * Keys are COLLATE "C": byte order is the lock order of es_append_batch, and the cheapest
 * comparison for the indexes every append writes.
 */
export class EventStore1764400000000 implements MigrationInterface {
  name = 'EventStore1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE es_streams (
        stream_id   text COLLATE "C" PRIMARY KEY,
        -- 0 only inside an appending transaction, for a stream it creates (see es_append_batch)
        version     bigint NOT NULL CHECK (version >= 0),
        head_hash   char(64) NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // The primary key is the commit order that readAll walks: (writing transaction, position).
    await q.query(`
      CREATE TABLE es_events (
        position        bigint GENERATED ALWAYS AS IDENTITY,
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id       text COLLATE "C" NOT NULL,
        stream_version  bigint NOT NULL CHECK (stream_version > 0),
        event_id        uuid NOT NULL UNIQUE,
        type            text NOT NULL,
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL,
        occurred_at     timestamptz NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        prev_hash       char(64) NOT NULL,
        hash            char(64) NOT NULL,
        PRIMARY KEY (transaction_id, position),
        UNIQUE (stream_id, stream_version)
      )`);

    await q.query(`
      CREATE TABLE es_idempotency (
        scope         text COLLATE "C" NOT NULL,
        key           text COLLATE "C" NOT NULL,
        request_hash  char(64) NOT NULL,
        stream_id     text NOT NULL,
        -- the key is claimed before the versions are known: a replay reads its result back
        -- from these events
        event_ids     uuid[] NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      )`);

    // recorded_at and transaction_id are the database's, whatever a caller sends. The WHEN
    // clause spares the plpgsql call for the rows that kept the defaults (every append).
    await q.query(`
      CREATE FUNCTION es_events_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.recorded_at := now();
        NEW.transaction_id := pg_current_xact_id();
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER es_events_stamp BEFORE INSERT ON es_events FOR EACH ROW
      WHEN (NEW.recorded_at IS DISTINCT FROM now() OR NEW.transaction_id IS DISTINCT FROM pg_current_xact_id())
      EXECUTE FUNCTION es_events_stamp()`);

    // Append-only for every role, owner and superuser included. ENABLE ALWAYS makes the
    // triggers fire under session_replication_role = replica as well.
    await q.query(`
      CREATE FUNCTION es_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'es_events is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(
      `CREATE TRIGGER es_events_no_update BEFORE UPDATE OR DELETE ON es_events ` +
        `FOR EACH ROW EXECUTE FUNCTION es_events_append_only()`,
    );
    await q.query(
      `CREATE TRIGGER es_events_no_truncate BEFORE TRUNCATE ON es_events ` +
        `FOR EACH STATEMENT EXECUTE FUNCTION es_events_append_only()`,
    );
    await q.query(`ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_stamp`);
    await q.query(`ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update`);
    await q.query(`ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_truncate`);

    await q.query(APPEND_BATCH_FUNCTION);
    await q.query(APPEND_FUNCTION);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION es_append(text, bigint, jsonb, text, text, text, text)`);
    await q.query(`DROP FUNCTION es_append_batch`);
    await q.query(`DROP TABLE es_idempotency`);
    await q.query(`DROP TABLE es_events`);
    await q.query(`DROP TABLE es_streams`);
    await q.query(`DROP FUNCTION es_events_append_only`);
    await q.query(`DROP FUNCTION es_events_stamp`);
  }
}

/**
 * Group commit: many appends in one transaction, each with its own outcome; a refused append
 * writes nothing and fails no other, with no exception and no subtransaction.
 *
 * p_appends: [{s: stream id, v: expected version, e: [{eventId, type, data, metadata,
 * occurredAt}], sc, k, h: idempotency scope, key and request hash (absent without a key)}].
 * v: >= 0 an exact version (0 = no stream), -1 any, -2 the stream must exist.
 * p_bodies: per event, in input order, joined by newlines (canonical JSON escapes every one):
 * the RFC 8785 canonical JSON of {streamId, type, data, metadata, occurredAt, version} cut
 * before the version, its last key, so that an event's hash is
 * sha256(prev_hash || body || version || '}'), chained per stream from 64 zeros.
 * Returns {tx: the transaction id, r: one element per append, in input order}: appended,
 * [first version, last position] (the caller knows the rest); {"replayed": {streamId,
 * firstVersion, lastVersion, transactionId, lastPosition, eventIds}} of the first append
 * under its key; {"conflict": the current version}; or {"reused": true}.
 *
 * A handful of statements per batch, whatever its size; the work per append is plpgsql
 * arithmetic, which costs far less than a statement:
 * 1. Claim the idempotency keys, in key order: ON CONFLICT DO NOTHING waits for a concurrent
 *    claim to commit or roll back. A key not claimed is a replay or a reuse. Of the same key
 *    twice in a batch the first append claims it, and the next takes it over if the first
 *    is refused. A refused append's claim is released at the end.
 * 2. Lock every stream, in stream id order, with an upsert that creates the missing ones at
 *    version 0 (deleted again at the end if no append used them). Locks are thus taken in
 *    two global orders, keys then streams, so batches from any number of processes do not
 *    deadlock each other.
 * 3. Per append, in input order: version check against the stream as the batch left it so
 *    far, hash chain, positions (taken from the sequence here, so that each result is known
 *    without reading the events back).
 * 4. One statement writes the streams and the events; a NOTIFY wakes subscribers at commit.
 */
export const APPEND_BATCH_FUNCTION =
  `
CREATE FUNCTION es_append_batch(p_appends jsonb, p_bodies text) RETURNS jsonb LANGUAGE plpgsql
-- Custom plans would be made on every call: knowing the arrays' sizes they always look
-- cheaper than the generic plan, and planning costs more than running these statements.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_count  constant int := jsonb_array_length(p_appends);
  v_body   constant text[] := string_to_array(p_bodies, E'\\n');
  v_tx     constant text := pg_current_xact_id()::text;
  -- per append, in input order
  a_s text[]; a_v bigint[]; a_e jsonb[]; a_ev0 int[]; a_sc text[]; a_k text[]; a_h text[];
  o_kind text[]; o_result jsonb[]; o_holds boolean[];
  -- per stream, in lock order; st_index: stream id -> index
  st_id text[]; st_version bigint[]; st_head text[]; st_dirty boolean[]; st_index jsonb;
  -- per event to insert
  ev_pos bigint[] := '{}'; ev_s text[] := '{}'; ev_v bigint[] := '{}'; ev_j jsonb[] := '{}';
  ev_p text[] := '{}'; ev_h text[] := '{}';
  v_claimed  jsonb := '{}';  -- {"[scope, key]": true} for the keys this batch claimed
  v_holder   jsonb := '{}';  -- with duplicate keys only: key -> the append holding its claim
  v_dups     boolean := false;
  v_keyed    int := 0;
  v_released int := 0;
  v_i int; v_j int; v_t int; v_n int := 0; v_m int := 0;
  v_x jsonb; v_key text; v_cur bigint; v_head text; v_prev text; v_claim record;
BEGIN
  IF v_count = 0 THEN RETURN jsonb_build_object('tx', v_tx, 'r', '[]'::jsonb); END IF;
  FOR v_i IN 1 .. v_count LOOP
    v_x := p_appends -> (v_i - 1);
    a_s[v_i] := v_x ->> 's';
    a_v[v_i] := (v_x ->> 'v')::bigint;
    a_e[v_i] := v_x -> 'e';
    a_ev0[v_i] := v_n;
    v_n := v_n + jsonb_array_length(a_e[v_i]);
    a_sc[v_i] := v_x ->> 'sc';
    a_k[v_i] := v_x ->> 'k';
    a_h[v_i] := v_x ->> 'h';
    IF a_k[v_i] IS NOT NULL THEN v_keyed := v_keyed + 1; END IF;
  END LOOP;
  o_kind := array_fill(NULL::text, ARRAY[v_count]);
  o_result := array_fill(NULL::jsonb, ARRAY[v_count]);
  o_holds := array_fill(false, ARRAY[v_count]);

  IF v_keyed > 0 THEN
    WITH c AS (
      INSERT INTO es_idempotency (scope, key, request_hash, stream_id, event_ids)
      SELECT u.sc, u.k, u.h, u.s, ARRAY(SELECT (jsonb_array_elements(u.e) ->> 'eventId')::uuid)
        FROM unnest(a_sc, a_k, a_h, a_s, a_e) WITH ORDINALITY AS u(sc, k, h, s, e, o)
       WHERE u.k IS NOT NULL
       ORDER BY u.sc COLLATE "C", u.k COLLATE "C", u.o
      ON CONFLICT DO NOTHING
      RETURNING scope, key
    )
    SELECT coalesce(jsonb_object_agg(jsonb_build_array(c.scope, c.key)::text, true), '{}'), count(*)
      INTO v_claimed, v_n
      FROM c;
    IF v_n < v_keyed THEN
      v_dups := (SELECT count(DISTINCT (u.sc, u.k)) FROM unnest(a_sc, a_k) AS u(sc, k) WHERE u.k IS NOT NULL) < v_keyed;
    END IF;
  END IF;

  INSERT INTO es_streams AS s (stream_id, version, head_hash)
  SELECT DISTINCT u.id COLLATE "C", 0, repeat('0', 64) FROM unnest(a_s) AS u(id) ORDER BY 1
  ON CONFLICT (stream_id) DO UPDATE SET version = s.version WHERE false;  -- locks, writes nothing
  -- (array_agg keeps the order of a sorted subquery; ORDER BY inside would sort once per array)
  SELECT array_agg(stream_id), array_agg(version), array_agg(head_hash::text), array_agg(false),
         jsonb_object_agg(stream_id, n)
    INTO st_id, st_version, st_head, st_dirty, st_index
    FROM (SELECT stream_id, version, head_hash, row_number() OVER (ORDER BY stream_id) AS n
            FROM es_streams WHERE stream_id = ANY (a_s) ORDER BY stream_id) s;

  FOR v_i IN 1 .. v_count LOOP
    IF a_k[v_i] IS NOT NULL THEN
      v_key := jsonb_build_array(a_sc[v_i], a_k[v_i])::text;
      v_j := CASE WHEN v_dups THEN (v_holder ->> v_key)::int END;
      IF v_j IS NOT NULL AND o_kind[v_j] = 'ok' THEN
        o_kind[v_i] := CASE WHEN a_h[v_j] = a_h[v_i] THEN 'replayed' ELSE 'reused' END;
        o_result[v_i] := CASE WHEN o_kind[v_i] = 'reused' THEN '{"reused": true}' ` +
  `ELSE jsonb_build_object('replayed', jsonb_build_object(
          'streamId', a_s[v_j], 'firstVersion', o_result[v_j] -> 0,
          'lastVersion', (o_result[v_j] ->> 0)::bigint + jsonb_array_length(a_e[v_j]) - 1,
          'transactionId', v_tx, 'lastPosition', o_result[v_j] -> 1,
          'eventIds', jsonb_path_query_array(a_e[v_j], '$[*].eventId'))) END;
        CONTINUE;
      ELSIF v_j IS NOT NULL THEN
        -- the append holding the key was refused, so the key is free again: take it over
        UPDATE es_idempotency
           SET request_hash = a_h[v_i], stream_id = a_s[v_i],
               event_ids = ARRAY(SELECT (jsonb_array_elements(a_e[v_i]) ->> 'eventId')::uuid)
         WHERE scope = a_sc[v_i] AND key = a_k[v_i];
        o_holds[v_j] := false;
        v_released := v_released - 1;
        o_holds[v_i] := true;
        v_holder := jsonb_set(v_holder, ARRAY[v_key], to_jsonb(v_i));
      ELSIF v_claimed ? v_key THEN
        o_holds[v_i] := true;
        IF v_dups THEN v_holder := v_holder || jsonb_build_object(v_key, v_i); END IF;
      ELSE
        -- the key belongs to a committed append: its result is read back from its events
        SELECT i.request_hash::text AS rh, jsonb_build_object(
                 'streamId', e.stream_id, 'firstVersion', e.stream_version - cardinality(i.event_ids) + 1,
                 'lastVersion', e.stream_version, 'transactionId', e.transaction_id::text,
                 'lastPosition', e.position::text, 'eventIds', to_jsonb(i.event_ids)) AS result
          INTO v_claim
          FROM es_idempotency i JOIN es_events e ON e.event_id = i.event_ids[cardinality(i.event_ids)]
         WHERE i.scope = a_sc[v_i] AND i.key = a_k[v_i];
        o_kind[v_i] := CASE WHEN v_claim.rh = a_h[v_i] THEN 'replayed' ELSE 'reused' END;
        o_result[v_i] := CASE WHEN o_kind[v_i] = 'reused' THEN '{"reused": true}' ` +
  `ELSE jsonb_build_object('replayed', v_claim.result) END;
        CONTINUE;
      END IF;
    END IF;

    v_t := (st_index ->> a_s[v_i])::int;
    v_cur := st_version[v_t];
    IF NOT (a_v[v_i] = -1 OR a_v[v_i] = v_cur OR (a_v[v_i] = -2 AND v_cur > 0)) THEN
      o_kind[v_i] := 'conflict';
      o_result[v_i] := jsonb_build_object('conflict', v_cur);
      IF o_holds[v_i] THEN v_released := v_released + 1; END IF;
      CONTINUE;
    END IF;
    v_head := st_head[v_t];
    FOR v_j IN 0 .. jsonb_array_length(a_e[v_i]) - 1 LOOP
      v_cur := v_cur + 1;
      v_prev := v_head;
      v_head := encode(sha256(convert_to(v_prev || v_body[a_ev0[v_i] + v_j + 1] || v_cur::text || '}', 'UTF8')), 'hex');
      v_m := v_m + 1;
      ev_pos[v_m] := nextval('es_events_position_seq');
      ev_s[v_m] := a_s[v_i]; ev_v[v_m] := v_cur; ev_j[v_m] := a_e[v_i] -> v_j; ev_p[v_m] := v_prev; ev_h[v_m] := v_head;
    END LOOP;
    o_kind[v_i] := 'ok';
    o_result[v_i] := jsonb_build_array(st_version[v_t] + 1, ev_pos[v_m]::text);
    st_version[v_t] := v_cur;
    st_head[v_t] := v_head;
    st_dirty[v_t] := true;
  END LOOP;

  -- Streams this batch created but left empty (every append to them refused or replayed);
  -- the table still says 0 for the ones it did fill until the UPDATE below, so go by memory.
  IF 0 = ANY (st_version) THEN
    DELETE FROM es_streams s USING unnest(st_id, st_version) AS u(id, v)
     WHERE u.v = 0 AND s.stream_id = u.id AND s.version = 0;
  END IF;
  IF v_released > 0 THEN
    DELETE FROM es_idempotency i USING unnest(a_sc, a_k, o_holds, o_kind) AS u(sc, k, holds, kind)
     WHERE u.holds AND u.kind = 'conflict' AND i.scope = u.sc AND i.key = u.k;
  END IF;
  IF v_m > 0 THEN
    WITH upd AS (
      UPDATE es_streams s SET version = u.version, head_hash = u.head, updated_at = now()
        FROM unnest(st_id, st_version, st_head, st_dirty) AS u(id, version, head, dirty)
       WHERE u.dirty AND s.stream_id = u.id
    )
    INSERT INTO es_events (position, stream_id, stream_version, event_id, type, data, metadata, ` +
  `occurred_at, prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT e.pos, e.s, e.v, (e.j ->> 'eventId')::uuid, e.j ->> 'type', e.j -> 'data', e.j -> 'metadata',
           (e.j ->> 'occurredAt')::timestamptz, e.p, e.h
      FROM unnest(ev_pos, ev_s, ev_v, ev_j, ev_p, ev_h) AS e(pos, s, v, j, p, h);
    -- Wakes subscribers (LISTEN es_events) at commit, once per batch. Measured: the commits of
    -- concurrent batches queueing on the notification lock cost less than a NOTIFY of its own
    -- (a round trip and a commit more per batch).
    PERFORM pg_notify('es_events', '');
  END IF;
  RETURN jsonb_build_object('tx', v_tx, 'r', to_jsonb(o_result));
END $$`;

/**
 * One append on its own: the path of a lone append (an idle store, a batch of one) and of
 * the retry of a failed batch, where it is about twice as cheap as es_append_batch: a few
 * simple statements, and failures raised, rolling back the transaction, since there is no
 * other append in it to keep. The same rules as es_append_batch: the key claimed first, then
 * the stream locked, checked, chained and advanced.
 * SQLSTATE ES001: version conflict (DETAIL = the current version); ES002: idempotency key
 * reused. Returns the result {streamId, firstVersion, lastVersion, transactionId,
 * lastPosition, eventIds, replayed}.
 * p_events: [{eventId, type, data, metadata, occurredAt, body?}]; the bodies (see
 * es_append_batch) come in p_bodies, newline-joined, or else in each event's "body".
 */
export const APPEND_FUNCTION =
  `
CREATE FUNCTION es_append(
  p_stream_id text, p_expected bigint, p_events jsonb,
  p_idem_scope text, p_idem_key text, p_request_hash text, p_bodies text DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_n       constant int := jsonb_array_length(p_events);
  v_genesis constant text := repeat('0', 64);
  v_bodies  text[];
  v_version bigint;
  v_head    text;
  v_prev    text[] := '{}';
  v_hash    text[] := '{}';
  v_claim   record;
  v_last    bigint;
BEGIN
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO es_idempotency (scope, key, request_hash, stream_id, event_ids)
    VALUES (p_idem_scope, p_idem_key, p_request_hash, p_stream_id,
            ARRAY(SELECT (jsonb_array_elements(p_events) ->> 'eventId')::uuid))
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT i.request_hash::text AS rh, jsonb_build_object(
               'streamId', e.stream_id, 'firstVersion', e.stream_version - cardinality(i.event_ids) + 1,
               'lastVersion', e.stream_version, 'transactionId', e.transaction_id::text,
               'lastPosition', e.position::text, 'eventIds', to_jsonb(i.event_ids), 'replayed', true) AS result
        INTO v_claim
        FROM es_idempotency i JOIN es_events e ON e.event_id = i.event_ids[cardinality(i.event_ids)]
       WHERE i.scope = p_idem_scope AND i.key = p_idem_key;
      IF v_claim.rh = p_request_hash THEN RETURN v_claim.result; END IF;
      RAISE EXCEPTION 'idempotency key reused with another request' USING ERRCODE = 'ES002';
    END IF;
  END IF;

  SELECT version, head_hash INTO v_version, v_head FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;
  IF NOT FOUND AND p_expected IN (-1, 0) THEN
    -- a new stream; a concurrent creator makes ON CONFLICT wait, then lock the row it made
    INSERT INTO es_streams (stream_id, version, head_hash) VALUES (p_stream_id, 0, v_genesis) ON CONFLICT DO NOTHING;
    SELECT version, head_hash INTO v_version, v_head FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;
  END IF;
  v_version := coalesce(v_version, 0);
  IF NOT (p_expected = -1 OR p_expected = v_version OR (p_expected = -2 AND v_version > 0)) THEN
    RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id, v_version, p_expected
      USING ERRCODE = 'ES001', DETAIL = v_version::text;
  END IF;

  v_bodies := CASE WHEN p_bodies IS NULL
                   THEN ARRAY(SELECT e ->> 'body' FROM jsonb_array_elements(p_events) ` +
  `WITH ORDINALITY AS t(e, o) ORDER BY o)
                   ELSE string_to_array(p_bodies, E'\\n') END;
  FOR v_i IN 1 .. v_n LOOP
    v_prev[v_i] := v_head;
    v_head := encode(sha256(convert_to(v_head || v_bodies[v_i] || (v_version + v_i)::text || '}', 'UTF8')), 'hex');
    v_hash[v_i] := v_head;
  END LOOP;
  WITH upd AS (
    UPDATE es_streams SET version = v_version + v_n, head_hash = v_head, updated_at = now()
     WHERE stream_id = p_stream_id
  ), ins AS (
    INSERT INTO es_events (stream_id, stream_version, event_id, type, data, metadata, occurred_at, prev_hash, hash)
    SELECT p_stream_id, v_version + x.o, (x.e ->> 'eventId')::uuid, x.e ->> 'type', x.e -> 'data', x.e -> 'metadata',
           (x.e ->> 'occurredAt')::timestamptz, v_prev[x.o], v_hash[x.o]
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, o)
     ORDER BY x.o
    RETURNING position
  )
  SELECT max(position) INTO v_last FROM ins;
  PERFORM pg_notify('es_events', '');
  RETURN jsonb_build_object(
    'streamId', p_stream_id, 'firstVersion', v_version + 1, 'lastVersion', v_version + v_n,
    'transactionId', pg_current_xact_id()::text, 'lastPosition', v_last::text,
    'eventIds', jsonb_path_query_array(p_events, '$[*].eventId'), 'replayed', false);
END $$`;
