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
        result        jsonb,
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

    await q.query(APPEND_FUNCTION);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION es_append`);
    await q.query(`DROP TABLE es_idempotency`);
    await q.query(`DROP TABLE es_events`);
    await q.query(`DROP TABLE es_streams`);
    await q.query(`DROP FUNCTION es_events_append_only`);
    await q.query(`DROP FUNCTION es_events_stamp`);
  }
}

/**
 * One round trip, one transaction: idempotency claim, stream lock, expected-version check,
 * hash chain, insert, head update, wake-up notification.
 *
 * p_expected: >= 0 an exact version (0 = no stream), -1 any, -2 stream must exist.
 * p_bodies[i] is the RFC 8785 canonical JSON of the event without its version, which is the
 * last key in canonical order: the hashed text is p_bodies[i] || version || '}'.
 * Failures raise (and so roll everything back) with SQLSTATE ES001 (version conflict) or
 * ES002 (idempotency key reused); a replay returns the first result with replayed = true.
 */
const APPEND_FUNCTION = `
CREATE FUNCTION es_append(
  p_stream_id text, p_expected bigint,
  p_event_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[],
  p_occurred_at timestamptz[], p_bodies text[],
  p_idem_scope text, p_idem_key text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_version  bigint;
  v_hash     text;
  v_prev     text[] := '{}';
  v_hashes   text[] := '{}';
  v_n        int := cardinality(p_event_ids);
  v_existing record;
  v_result   jsonb;
  v_first    bigint;
  v_last_pos bigint;
BEGIN
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO es_idempotency (scope, key, request_hash, stream_id)
    VALUES (p_idem_scope, p_idem_key, p_request_hash, p_stream_id)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT request_hash, result, stream_id INTO v_existing
        FROM es_idempotency WHERE scope = p_idem_scope AND key = p_idem_key;
      IF v_existing.request_hash <> p_request_hash THEN
        RAISE EXCEPTION 'idempotency key reused with another request' USING ERRCODE = 'ES002';
      END IF;
      RETURN v_existing.result || jsonb_build_object('replayed', true);
    END IF;
  END IF;

  SELECT version, head_hash INTO v_version, v_hash
    FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;
  IF NOT FOUND THEN
    IF p_expected > 0 OR p_expected = -2 THEN
      RAISE EXCEPTION 'stream % does not exist', p_stream_id
        USING ERRCODE = 'ES001', DETAIL = '0';
    END IF;
    INSERT INTO es_streams (stream_id, version, head_hash)
    VALUES (p_stream_id, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
    SELECT version, head_hash INTO v_version, v_hash
      FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;
  END IF;
  IF (p_expected >= 0 AND v_version <> p_expected) OR (p_expected = -2 AND v_version = 0) THEN
    RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id, v_version, p_expected
      USING ERRCODE = 'ES001', DETAIL = v_version::text;
  END IF;

  v_first := v_version + 1;
  FOR i IN 1 .. v_n LOOP
    v_prev := v_prev || v_hash;
    v_hash := encode(sha256(convert_to(v_hash || p_bodies[i] || (v_version + i)::text || '}', 'UTF8')), 'hex');
    v_hashes := v_hashes || v_hash;
  END LOOP;

  WITH ins AS (
    INSERT INTO es_events (stream_id, stream_version, event_id, type, data, metadata, occurred_at, prev_hash, hash)
    SELECT p_stream_id, v_version + u.ord, u.event_id, u.type, u.data, u.metadata, u.occurred_at, u.prev, u.hash
      FROM unnest(p_event_ids, p_types, p_data, p_metadata, p_occurred_at, v_prev, v_hashes)
           WITH ORDINALITY AS u(event_id, type, data, metadata, occurred_at, prev, hash, ord)
    ORDER BY u.ord
    RETURNING position)
  SELECT max(position) INTO v_last_pos FROM ins;

  UPDATE es_streams SET version = v_version + v_n, head_hash = v_hash, updated_at = now()
   WHERE stream_id = p_stream_id;

  v_result := jsonb_build_object(
    'streamId', p_stream_id,
    'firstVersion', v_first,
    'lastVersion', v_version + v_n,
    'transactionId', pg_current_xact_id()::text,
    'lastPosition', v_last_pos,
    'eventIds', to_jsonb(p_event_ids));
  IF p_idem_key IS NOT NULL THEN
    UPDATE es_idempotency SET result = v_result WHERE scope = p_idem_scope AND key = p_idem_key;
  END IF;
  PERFORM pg_notify('es_events', p_stream_id);
  RETURN v_result || jsonb_build_object('replayed', false);
END $$`;
