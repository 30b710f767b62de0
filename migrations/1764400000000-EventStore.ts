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
        result        jsonb NOT NULL,
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
    await q.query(APPEND_FUNCTION);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION es_append`);
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
 * One round trip, one transaction: idempotency check, stream lock and expected-version check
 * and head advance in a single UPDATE, hash chain, insert, idempotency record.
 *
 * p_expected: >= 0 an exact version (0 = no stream), -1 any, -2 stream must exist.
 * p_events: [{eventId, type, data, metadata, occurredAt, body}], body as in es_chain.
 * Failures raise, rolling everything back: SQLSTATE ES001 (version conflict, DETAIL = the
 * current version), ES002 (idempotency key reused). A replay returns the first result with
 * replayed = true. Two first uses of one key on different streams race on the primary key
 * of es_idempotency; the loser gets a unique violation and the caller looks the key up.
 */
const APPEND_FUNCTION = `
CREATE FUNCTION es_append(
  p_stream_id text, p_expected bigint, p_events jsonb,
  p_idem_scope text, p_idem_key text, p_request_hash text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_bodies   text[];
  v_n        int;
  v_version  bigint;
  v_prev     text;
  v_hashes   text[];
  v_existing record;
  v_result   jsonb;
  v_last_pos bigint;
  v_genesis  constant text := repeat('0', 64);
BEGIN
  IF p_idem_key IS NOT NULL THEN
    SELECT request_hash, result INTO v_existing
      FROM es_idempotency WHERE scope = p_idem_scope AND key = p_idem_key;
    IF FOUND THEN
      IF v_existing.request_hash <> p_request_hash THEN
        RAISE EXCEPTION 'idempotency key reused with another request' USING ERRCODE = 'ES002';
      END IF;
      RETURN v_existing.result || '{"replayed": true}';
    END IF;
  END IF;

  SELECT array_agg(e ->> 'body' ORDER BY ord) INTO v_bodies
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord);
  v_n := cardinality(v_bodies);

  -- Lock, check and advance in one statement; concurrent appenders queue on the row and
  -- re-check the condition against the version they find.
  UPDATE es_streams
     SET version = version + v_n,
         prev_head_hash = head_hash,
         head_hash = (es_chain(head_hash, version, v_bodies))[v_n],
         updated_at = now()
   WHERE stream_id = p_stream_id AND (p_expected < 0 OR version = p_expected)
  RETURNING version - v_n, prev_head_hash INTO v_version, v_prev;

  IF NOT FOUND THEN
    IF p_expected = -1 OR p_expected = 0 THEN
      INSERT INTO es_streams (stream_id, version, head_hash, prev_head_hash)
      VALUES (p_stream_id, v_n, (es_chain(v_genesis, 0, v_bodies))[v_n], v_genesis)
      ON CONFLICT DO NOTHING;
      IF FOUND THEN
        v_version := 0;
        v_prev := v_genesis;
      ELSIF p_expected = -1 THEN
        -- created by a concurrent append in the meantime: queue behind it
        UPDATE es_streams
           SET version = version + v_n,
               prev_head_hash = head_hash,
               head_hash = (es_chain(head_hash, version, v_bodies))[v_n],
               updated_at = now()
         WHERE stream_id = p_stream_id
        RETURNING version - v_n, prev_head_hash INTO v_version, v_prev;
      END IF;
    END IF;
    IF v_version IS NULL THEN
      SELECT version INTO v_version FROM es_streams WHERE stream_id = p_stream_id;
      RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id, coalesce(v_version, 0), p_expected
        USING ERRCODE = 'ES001', DETAIL = coalesce(v_version, 0)::text;
    END IF;
  END IF;

  v_hashes := es_chain(v_prev, v_version, v_bodies);
  WITH ins AS (
    INSERT INTO es_events (stream_id, stream_version, event_id, type, data, metadata, occurred_at, prev_hash, hash)
    SELECT p_stream_id, v_version + x.ord, x."eventId", x.type, x.data, x.metadata, x."occurredAt",
           CASE WHEN x.ord = 1 THEN v_prev ELSE v_hashes[x.ord - 1] END, v_hashes[x.ord]
      FROM ROWS FROM (jsonb_to_recordset(p_events)
             AS ("eventId" uuid, type text, data jsonb, metadata jsonb, "occurredAt" timestamptz)) WITH ORDINALITY
           AS x("eventId", type, data, metadata, "occurredAt", ord)
     ORDER BY x.ord
    RETURNING position)
  SELECT max(position) INTO v_last_pos FROM ins;

  v_result := jsonb_build_object(
    'streamId', p_stream_id,
    'firstVersion', v_version + 1,
    'lastVersion', v_version + v_n,
    'transactionId', pg_current_xact_id()::text,
    'lastPosition', v_last_pos,
    'eventIds', (SELECT jsonb_agg(e -> 'eventId' ORDER BY ord) FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord)));
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO es_idempotency (scope, key, request_hash, stream_id, result)
    VALUES (p_idem_scope, p_idem_key, p_request_hash, p_stream_id, v_result);
  END IF;
  RETURN v_result || '{"replayed": false}';
END $$`;
