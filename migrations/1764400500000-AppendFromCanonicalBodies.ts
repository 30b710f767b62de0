import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Appends send each event once: its RFC 8785 canonical body (the text its hash covers) and
 * its id, no longer a JSON copy of the event as well. The database completes the body with
 * the version it assigns, hashes it and parses it into the event's columns, so the stored
 * data is by construction the data that was hashed. Per event, a batch carries half the bytes
 * it did (each send on this VM's loopback costs time in proportion) and is parsed once.
 *
 * New functions under new names, es_append_batch_bodies and es_append_bodies: es_append_batch
 * and es_append stay as they were, so that processes still running the previous code keep
 * appending while a deploy replaces them (both write the same tables by the same rules). A
 * later migration drops them once no such process is left.
 *
 * p_streams, p_expected, p_counts, p_scopes, p_keys, p_hashes: one element per append (see
 * below); p_event_ids and the newline-joined p_bodies: one per event, in input order.
 * p_bodies: the canonical JSON of {data, metadata, occurredAt, streamId, type, version} cut
 * before the version, its last key: the event is body || version || '}', and its hash
 * sha256(prev_hash || body || version || '}'), chained per stream from 64 zeros.
 * p_expected: >= 0 an exact version (0 = no stream), -1 any, -2 the stream must exist.
 * p_scopes, p_keys, p_hashes: the idempotency scope, key and request hash (null without a key).
 * Returns {tx: the transaction id, r: one element per append, in input order}: appended,
 * [first version, last position] (the caller knows the rest); {"replayed": {streamId,
 * firstVersion, lastVersion, transactionId, lastPosition, eventIds}} of the first append
 * under its key; {"conflict": the current version}; or {"reused": true}.
 *
 * Otherwise the rules of the first version (1764400000000-EventStore): keys claimed in key
 * order, then streams locked in stream id order, then per append in input order the version
 * check, the hash chain and positions, then one statement writes streams and events.
 */
export class AppendFromCanonicalBodies1764400500000 implements MigrationInterface {
  name = 'AppendFromCanonicalBodies1764400500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(IDEMPOTENT_RESULT);
    await q.query(APPEND_BATCH_BODIES);
    await q.query(APPEND_BODIES);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION es_append_batch_bodies`);
    await q.query(`DROP FUNCTION es_append_bodies`);
    await q.query(`DROP FUNCTION es_idempotent_result`);
  }
}

/**
 * The first result under an idempotency key, read back from its events, and the hash of the
 * request that made it; nulls when the key is free. The one definition of a replay's answer:
 * both append functions and the store's findIdempotentResult read it here.
 */
const IDEMPOTENT_RESULT = `
CREATE FUNCTION es_idempotent_result(p_scope text, p_key text, OUT request_hash text, OUT result jsonb)
LANGUAGE sql STABLE AS $$
  SELECT i.request_hash::text, jsonb_build_object(
           'streamId', e.stream_id, 'firstVersion', e.stream_version - cardinality(i.event_ids) + 1,
           'lastVersion', e.stream_version, 'transactionId', e.transaction_id::text,
           'lastPosition', e.position::text, 'eventIds', to_jsonb(i.event_ids))
    FROM es_idempotency i JOIN es_events e ON e.event_id = i.event_ids[cardinality(i.event_ids)]
   WHERE i.scope = p_scope AND i.key = p_key
$$`;

export const APPEND_BATCH_BODIES =
  `
CREATE FUNCTION es_append_batch_bodies(
  p_streams text[], p_expected bigint[], p_counts int[], p_event_ids uuid[], p_bodies text,
  p_scopes text[], p_keys text[], p_hashes text[]
) RETURNS jsonb LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_count  constant int := cardinality(p_streams);
  v_body   constant text[] := string_to_array(p_bodies, E'\\n');
  v_tx     constant text := pg_current_xact_id()::text;
  a_first int[]; a_last int[];
  o_kind text[]; o_result jsonb[]; o_holds boolean[];
  st_id text[]; st_version bigint[]; st_head text[]; st_dirty boolean[];
  ev_pos bigint[] := '{}'; ev_s text[] := '{}'; ev_v bigint[] := '{}'; ev_id uuid[] := '{}'; ev_j jsonb[] := '{}';
  ev_p text[] := '{}'; ev_h text[] := '{}';
  v_claimed  int[] := '{}';
  v_holder   jsonb := '{}';
  v_dups     boolean := false;
  v_keyed    int := 0;
  v_claims   int;
  v_released int := 0;
  v_i int; v_j int; v_t int; v_n int := 0; v_m int := 0;
  v_key text; v_cur bigint; v_head text; v_prev text; v_full text; v_claim record;
BEGIN
  IF v_count = 0 THEN RETURN jsonb_build_object('tx', v_tx, 'r', '[]'::jsonb); END IF;
  a_first := array_fill(0, ARRAY[v_count]); a_last := a_first;
  FOR v_i IN 1 .. v_count LOOP
    a_first[v_i] := v_n + 1;
    v_n := v_n + p_counts[v_i];
    a_last[v_i] := v_n;
    IF p_keys[v_i] IS NOT NULL THEN v_keyed := v_keyed + 1; END IF;
  END LOOP;
  IF v_n <> cardinality(p_event_ids) OR v_n <> cardinality(v_body) THEN
    RAISE EXCEPTION 'es_append_batch_bodies: % events counted, % ids, % bodies', ` +
  `v_n, cardinality(p_event_ids), cardinality(v_body);
  END IF;
  o_kind := array_fill(NULL::text, ARRAY[v_count]);
  o_result := array_fill(NULL::jsonb, ARRAY[v_count]);
  o_holds := array_fill(false, ARRAY[v_count]);

  IF v_keyed > 0 THEN
    WITH c AS (
      INSERT INTO es_idempotency (scope, key, request_hash, stream_id, event_ids)
      SELECT u.sc, u.k, u.h, u.s, p_event_ids[u.f : u.l]
        FROM unnest(p_scopes, p_keys, p_hashes, p_streams, a_first, a_last) WITH ORDINALITY AS u(sc, k, h, s, f, l, o)
       WHERE u.k IS NOT NULL
       ORDER BY u.sc COLLATE "C", u.k COLLATE "C", u.o
      ON CONFLICT DO NOTHING
      RETURNING scope, key
    )
    -- the appends that claimed their key: of the same key twice, the first
    SELECT coalesce(array_agg(m.o), '{}'), count(*) INTO v_claimed, v_claims
      FROM (SELECT min(u.o)::int AS o FROM unnest(p_scopes, p_keys) WITH ORDINALITY AS u(sc, k, o)
              JOIN c ON c.scope = u.sc AND c.key = u.k GROUP BY u.sc, u.k) m;
    IF v_claims < v_keyed THEN
      v_dups := (SELECT count(DISTINCT (u.sc, u.k)) FROM unnest(p_scopes, p_keys) AS u(sc, k) ` +
  `WHERE u.k IS NOT NULL) < v_keyed;
    END IF;
  END IF;

  INSERT INTO es_streams AS s (stream_id, version, head_hash)
  SELECT DISTINCT u.id COLLATE "C", 0, repeat('0', 64) FROM unnest(p_streams) AS u(id) ORDER BY 1
  ON CONFLICT (stream_id) DO UPDATE SET version = s.version WHERE false;  -- locks, writes nothing
  SELECT array_agg(stream_id), array_agg(version), array_agg(head_hash::text), array_agg(false)
    INTO st_id, st_version, st_head, st_dirty
    FROM (SELECT stream_id, version, head_hash FROM es_streams WHERE stream_id = ANY (p_streams) ORDER BY stream_id) s;

  FOR v_i IN 1 .. v_count LOOP
    IF p_keys[v_i] IS NOT NULL THEN
      v_key := CASE WHEN v_dups THEN jsonb_build_array(p_scopes[v_i], p_keys[v_i])::text END;
      v_j := CASE WHEN v_dups THEN (v_holder ->> v_key)::int END;
      IF v_j IS NOT NULL AND o_kind[v_j] = 'ok' THEN
        o_kind[v_i] := CASE WHEN p_hashes[v_j] = p_hashes[v_i] THEN 'replayed' ELSE 'reused' END;
        o_result[v_i] := CASE WHEN o_kind[v_i] = 'reused' THEN '{"reused": true}' ` +
  `ELSE jsonb_build_object('replayed', jsonb_build_object(
          'streamId', p_streams[v_j], 'firstVersion', o_result[v_j] -> 0,
          'lastVersion', (o_result[v_j] ->> 0)::bigint + p_counts[v_j] - 1,
          'transactionId', v_tx, 'lastPosition', o_result[v_j] -> 1,
          'eventIds', to_jsonb(p_event_ids[a_first[v_j] : a_last[v_j]]))) END;
        CONTINUE;
      ELSIF v_j IS NOT NULL THEN
        -- the append holding the key was refused, so the key is free again: take it over
        UPDATE es_idempotency
           SET request_hash = p_hashes[v_i], stream_id = p_streams[v_i], ` +
  `event_ids = p_event_ids[a_first[v_i] : a_last[v_i]]
         WHERE scope = p_scopes[v_i] AND key = p_keys[v_i];
        o_holds[v_j] := false;
        v_released := v_released - 1;
        o_holds[v_i] := true;
        v_holder := jsonb_set(v_holder, ARRAY[v_key], to_jsonb(v_i));
      ELSIF v_i = ANY (v_claimed) THEN
        o_holds[v_i] := true;
        IF v_dups THEN v_holder := v_holder || jsonb_build_object(v_key, v_i); END IF;
      ELSE
        -- the key belongs to a committed append: its result is read back from its events
        SELECT * INTO v_claim FROM es_idempotent_result(p_scopes[v_i], p_keys[v_i]);
        o_kind[v_i] := CASE WHEN v_claim.request_hash = p_hashes[v_i] THEN 'replayed' ELSE 'reused' END;
        o_result[v_i] := CASE WHEN o_kind[v_i] = 'reused' THEN '{"reused": true}' ` +
  `ELSE jsonb_build_object('replayed', v_claim.result) END;
        CONTINUE;
      END IF;
    END IF;

    v_t := array_position(st_id, p_streams[v_i]);
    v_cur := st_version[v_t];
    IF NOT (p_expected[v_i] = -1 OR p_expected[v_i] = v_cur OR (p_expected[v_i] = -2 AND v_cur > 0)) THEN
      o_kind[v_i] := 'conflict';
      o_result[v_i] := jsonb_build_object('conflict', v_cur);
      IF o_holds[v_i] THEN v_released := v_released + 1; END IF;
      CONTINUE;
    END IF;
    v_head := st_head[v_t];
    FOR v_j IN a_first[v_i] .. a_last[v_i] LOOP
      v_cur := v_cur + 1;
      v_prev := v_head;
      v_full := v_body[v_j] || v_cur || '}';
      v_head := encode(sha256(convert_to(v_prev || v_full, 'UTF8')), 'hex');
      v_m := v_m + 1;
      ev_pos[v_m] := nextval('es_events_position_seq');
      ev_s[v_m] := p_streams[v_i]; ev_v[v_m] := v_cur; ev_id[v_m] := p_event_ids[v_j]; ev_j[v_m] := v_full::jsonb;
      ev_p[v_m] := v_prev; ev_h[v_m] := v_head;
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
    DELETE FROM es_idempotency i USING unnest(p_scopes, p_keys, o_holds, o_kind) AS u(sc, k, holds, kind)
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
    SELECT e.pos, e.s, e.v, e.id, e.j ->> 'type', e.j -> 'data', e.j -> 'metadata',
           (e.j ->> 'occurredAt')::timestamptz, e.p, e.h
      FROM unnest(ev_pos, ev_s, ev_v, ev_id, ev_j, ev_p, ev_h) AS e(pos, s, v, id, j, p, h);
    -- wakes subscribers (LISTEN es_events) at commit, once per batch
    PERFORM pg_notify('es_events', '');
  END IF;
  RETURN jsonb_build_object('tx', v_tx, 'r', to_jsonb(o_result));
END $$`;

/**
 * One append on its own (as es_append in 1764400000000-EventStore): failures raised, so
 * that the transaction rolls back. SQLSTATE ES001: version conflict (DETAIL = the current
 * version); ES002: idempotency key reused. Returns {streamId, firstVersion, lastVersion,
 * transactionId, lastPosition, eventIds, replayed}.
 */
export const APPEND_BODIES =
  `
CREATE FUNCTION es_append_bodies(
  p_stream_id text, p_expected bigint, p_event_ids uuid[], p_bodies text,
  p_idem_scope text, p_idem_key text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_n       constant int := cardinality(p_event_ids);
  v_bodies  constant text[] := string_to_array(p_bodies, E'\\n');
  v_version bigint;
  v_head    text;
  v_full    text;
  v_prev    text[] := '{}';
  v_hash    text[] := '{}';
  v_json    jsonb[] := '{}';
  v_claim   record;
  v_last    bigint;
BEGIN
  IF v_n = 0 OR v_n <> cardinality(v_bodies) THEN
    RAISE EXCEPTION 'es_append_bodies: % ids, % bodies', v_n, cardinality(v_bodies);
  END IF;
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO es_idempotency (scope, key, request_hash, stream_id, event_ids)
    VALUES (p_idem_scope, p_idem_key, p_request_hash, p_stream_id, p_event_ids)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT * INTO v_claim FROM es_idempotent_result(p_idem_scope, p_idem_key);
      IF v_claim.request_hash = p_request_hash THEN RETURN v_claim.result || '{"replayed": true}'; END IF;
      RAISE EXCEPTION 'idempotency key reused with another request' USING ERRCODE = 'ES002';
    END IF;
  END IF;

  SELECT version, head_hash INTO v_version, v_head FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;
  IF NOT FOUND AND p_expected IN (-1, 0) THEN
    -- a new stream; a concurrent creator makes ON CONFLICT wait, then lock the row it made
    INSERT INTO es_streams (stream_id, version, head_hash) VALUES (p_stream_id, 0, repeat('0', 64)) ` +
  `ON CONFLICT DO NOTHING;
    SELECT version, head_hash INTO v_version, v_head FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;
  END IF;
  v_version := coalesce(v_version, 0);
  IF NOT (p_expected = -1 OR p_expected = v_version OR (p_expected = -2 AND v_version > 0)) THEN
    RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id, v_version, p_expected
      USING ERRCODE = 'ES001', DETAIL = v_version::text;
  END IF;

  FOR v_i IN 1 .. v_n LOOP
    v_full := v_bodies[v_i] || (v_version + v_i) || '}';
    v_prev[v_i] := v_head;
    v_head := encode(sha256(convert_to(v_head || v_full, 'UTF8')), 'hex');
    v_hash[v_i] := v_head;
    v_json[v_i] := v_full::jsonb;
  END LOOP;
  WITH upd AS (
    UPDATE es_streams SET version = v_version + v_n, head_hash = v_head, updated_at = now()
     WHERE stream_id = p_stream_id
  ), ins AS (
    INSERT INTO es_events (stream_id, stream_version, event_id, type, data, metadata, occurred_at, prev_hash, hash)
    SELECT p_stream_id, v_version + x.o, x.id, x.j ->> 'type', x.j -> 'data', x.j -> 'metadata',
           (x.j ->> 'occurredAt')::timestamptz, x.p, x.h
      FROM unnest(p_event_ids, v_json, v_prev, v_hash) WITH ORDINALITY AS x(id, j, p, h, o)
     ORDER BY x.o
    RETURNING position
  )
  SELECT max(position) INTO v_last FROM ins;
  PERFORM pg_notify('es_events', '');
  RETURN jsonb_build_object(
    'streamId', p_stream_id, 'firstVersion', v_version + 1, 'lastVersion', v_version + v_n,
    'transactionId', pg_current_xact_id()::text, 'lastPosition', v_last::text,
    'eventIds', to_jsonb(p_event_ids), 'replayed', false);
END $$`;
