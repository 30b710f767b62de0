import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { CONVERSATION_SNAPSHOT_SCHEMA, foldEvents, streamIdOf, toSnapshot } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore, StoredEvent } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ConversationDriver } from '../../projections/test/conversation-driver';
import { play, scriptArbitrary } from '../../projections/test/command-script';
import { freshFold, processDeps, run, say, start } from '../test/command-fixtures';
import { ConversationStates } from './conversation-states';
import { toCommandEvent } from './recorded';
import { StateCache } from './state-cache';
import { bytesOf } from './stream-limits';

describe(ConversationStates.name, () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let snapshots: PostgresSnapshotStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    snapshots = new PostgresSnapshotStore(db.pool);
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  const sizeOf = (events: StoredEvent[]) => events.reduce((n, e) => n + bytesOf(e), 0);

  /** A cold process's states (no cache) whose stream reads are recorded. */
  function coldStates(snapshotEvery = 1_000) {
    const reads: number[] = [];
    const reader = {
      readStream: (id: string, range?: { fromVersion?: number }) => (
        reads.push(range?.fromVersion ?? 1),
        store.readStream(id, range)
      ),
      streamVersion: (id: string) => store.streamVersion(id),
    };
    return { states: new ConversationStates(reader, snapshots, new StateCache(0), { snapshotEvery }), reads };
  }

  /** A conversation of `messages` messages written with a snapshot every 5 events. */
  async function written(messages: number): Promise<string> {
    const id = randomUUID();
    const deps = processDeps(db.pool, { snapshotEvery: 5 });
    await run(deps, id, start(id));
    let parent: string | null = null;
    for (let i = 0; i < messages; i++) parent = (await run(deps, id, say(parent))).events[0].data.messageId as string;
    await deps.states.flush();
    return id;
  }

  const snapshotRows = async (id: string) =>
    (
      await db.pool.query(
        'SELECT schema_version, version::int AS version FROM es_snapshots WHERE stream_id = $1 ORDER BY schema_version',
        [streamIdOf(id)],
      )
    ).rows;

  it('is snapshotted every N events, and a cold load folds only the events after the snapshot', async () => {
    const id = await written(11);
    expect(await snapshotRows(id)).toEqual([{ schema_version: CONVERSATION_SNAPSHOT_SCHEMA, version: 10 }]);
    const { states, reads } = coldStates();
    const loaded = await states.load(id);
    expect(reads).toEqual([11]);
    const events = await store.readStream(streamIdOf(id));
    expect(loaded).toEqual({ state: foldEvents(events.map(toCommandEvent)), bytes: sizeOf(events), cached: false });
  });

  it('ignores a snapshot of another schema version, folds the stream, and stores one of its own', async () => {
    const id = await written(11);
    await db.pool.query(
      'UPDATE es_snapshots SET schema_version = $2, state = \'{"not": "this shape"}\' WHERE stream_id = $1',
      [streamIdOf(id), CONVERSATION_SNAPSHOT_SCHEMA + 1],
    );
    const { states, reads } = coldStates(5);
    const loaded = await states.load(id);
    await states.flush();
    expect(reads).toEqual([1]);
    expect(loaded.state).toEqual((await freshFold(store, id)).state);
    expect(await snapshotRows(id)).toEqual([
      { schema_version: CONVERSATION_SNAPSHOT_SCHEMA, version: 12 },
      { schema_version: CONVERSATION_SNAPSHOT_SCHEMA + 1, version: 10 },
    ]);
  });

  it('ignores a snapshot whose event is no longer the one at its version (another chain), replacing it', async () => {
    const id = await written(6);
    await db.pool.query(`UPDATE es_snapshots SET event_hash = repeat('0', 64), state = '{}' WHERE stream_id = $1`, [
      streamIdOf(id),
    ]);
    const { states, reads } = coldStates(5);
    expect((await states.load(id)).state).toEqual((await freshFold(store, id)).state);
    await states.flush();
    expect(reads).toEqual([1]);
    const { rows } = await db.pool.query(
      `SELECT s.event_hash = e.hash AS ok FROM es_snapshots s JOIN es_events e USING (stream_id)
        WHERE s.stream_id = $1 AND e.stream_version = s.version`,
      [streamIdOf(id)],
    );
    expect(rows).toEqual([{ ok: true }]);
  });

  it('loads from a snapshot and its tail what the stream folds to, any history, any cut (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArbitrary, fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), async (script, cuts) => {
        const driver = new ConversationDriver(store, { tenantId: 'prop', modelId: script.modelId });
        await play(driver, script.steps);
        const streamId = streamIdOf(driver.conversationId);
        const events = await store.readStream(streamId);
        const whole = foldEvents(events.map(toCommandEvent));
        // The state the driver's commands folded in place onto their cached state is the same.
        expect(driver.deps.states.cache.get(driver.conversationId)).toEqual({ state: whole, bytes: sizeOf(events) });
        expect(driver.deps.states.cache.events).toBe(whole.version + 1);
        for (const cut of cuts.map((c) => 1 + (c % events.length))) {
          const prefix = events.slice(0, cut);
          await db.pool.query('DELETE FROM es_snapshots WHERE stream_id = $1', [streamId]);
          const stateJson = JSON.stringify(toSnapshot(foldEvents(prefix.map(toCommandEvent))));
          await snapshots.write(streamId, {
            version: cut,
            schemaVersion: CONVERSATION_SNAPSHOT_SCHEMA,
            bytes: sizeOf(prefix),
            stateJson,
          });
          const { states, reads } = coldStates();
          expect(await states.load(driver.conversationId)).toEqual({
            state: whole,
            bytes: sizeOf(events),
            cached: false,
          });
          expect(reads).toEqual([cut + 1]);
        }
      }),
      { numRuns: 25, seed: Number(process.env.FC_SEED ?? 20261130) },
    );
  });
});
