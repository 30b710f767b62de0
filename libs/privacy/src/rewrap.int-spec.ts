import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { type ContentEnvelope } from './content-envelope';
import { openText, sealText } from './content-cipher';
import { ContentKeys, destroyContentKeys } from './content-keys';
import { LocalMasterKey, masterKeyRing, MasterKeyError } from './master-key';
import { contentKeyStatus, MissingMasterKey, rewrapContentKeys } from './rewrap';

/** Master-key rotation: keys rewrapped, no event touched, every content still opens without the old key. */
describe('content-keys:rewrap', () => {
  let db: TestDatabase;
  let runtime: Pool;
  const oldKey = new LocalMasterKey(randomBytes(32));
  const newKey = new LocalMasterKey(randomBytes(32));
  const stranger = new LocalMasterKey(randomBytes(32));

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 6 });
  });
  afterAll(async () => {
    await runtime.end();
    await db.drop();
  });

  /** A conversation's content sealed under a key wrapped by `master`. */
  async function sealed(master: LocalMasterKey, text: string) {
    const owner = { conversationId: randomUUID(), tenantId: 't1', subjectId: `s-${randomUUID()}` };
    const key = await new ContentKeys(runtime, masterKeyRing(master)).liveKey(owner);
    const eventId = randomUUID();
    return { owner, kid: key.kid, eventId, text, envelope: sealText(key, eventId, 'content', text) };
  }
  type Sealed = Awaited<ReturnType<typeof sealed>>;
  const open = async (keys: ContentKeys, s: Sealed) => {
    const found = await keys.lookup(s.kid);
    return found?.state === 'live' ? openText(found.key, s.eventId, 'content', s.envelope as ContentEnvelope) : null;
  };
  const eventCount = async () => Number((await db.pool.query('SELECT count(*)::int AS n FROM es_events')).rows[0].n);

  it('given keys under an old master key, then a rewrap moves them in batches; the old key is not needed', async () => {
    const contents = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((t) => sealed(oldKey, `text ${t}`)));
    const erased = await sealed(oldKey, 'gone');
    await destroyContentKeys(runtime, [erased.owner.conversationId], randomUUID());
    const current = await sealed(newKey, 'already current');
    const events = await eventCount();

    // the service, restarted with the new key alone, cannot read the old keys yet
    await expect(open(new ContentKeys(runtime, masterKeyRing(newKey)), contents[0])).rejects.toThrow(MasterKeyError);

    const batches: { rewrapped: number; remaining: number }[] = [];
    const result = await rewrapContentKeys(runtime, masterKeyRing(newKey, [oldKey]), {
      batchSize: 2,
      onBatch: (p) => batches.push(p),
    });
    expect(result).toEqual({ rewrapped: 5, changedMeanwhile: 0 });
    expect(batches).toEqual([
      { rewrapped: 2, remaining: 3 },
      { rewrapped: 4, remaining: 1 },
      { rewrapped: 5, remaining: 0 },
    ]);
    expect(await eventCount()).toBe(events);

    const withoutOld = new ContentKeys(runtime, masterKeyRing(newKey));
    for (const s of [...contents, current]) expect(await open(withoutOld, s)).toBe(s.text);
    expect((await withoutOld.lookup(erased.kid))?.state).toBe('destroyed');

    const status = await contentKeyStatus(runtime);
    expect(status.find((s) => s.masterKeyId === oldKey.id)).toBeUndefined();
    expect(status.find((s) => s.masterKeyId === newKey.id)?.live).toBeGreaterThanOrEqual(6);
    expect(status.find((s) => s.masterKeyId === null)?.destroyed).toBeGreaterThanOrEqual(1);

    expect(await rewrapContentKeys(runtime, masterKeyRing(newKey, [oldKey]))).toEqual({
      rewrapped: 0,
      changedMeanwhile: 0,
    });
  });

  it('given a key of a master key not in the ring, then the rewrap refuses naming it, changing nothing', async () => {
    const orphan = await sealed(stranger, 'orphan');
    const other = await sealed(oldKey, 'other');
    const before = (await db.pool.query('SELECT key_id, wrapped_key, master_key_id FROM content_keys ORDER BY key_id'))
      .rows;
    const refused = rewrapContentKeys(runtime, masterKeyRing(newKey, [oldKey]));
    await expect(refused).rejects.toThrow(MissingMasterKey);
    await expect(rewrapContentKeys(runtime, masterKeyRing(newKey, [oldKey]))).rejects.toThrow(
      new RegExp(`1 live content key\\(s\\) are wrapped by master key ${stranger.id}.*CONTENT_KEY_PREVIOUS_FILES`),
    );
    const after = (await db.pool.query('SELECT key_id, wrapped_key, master_key_id FROM content_keys ORDER BY key_id'))
      .rows;
    expect(after).toEqual(before);

    expect(await rewrapContentKeys(runtime, masterKeyRing(newKey, [oldKey, stranger]))).toEqual({
      rewrapped: 2,
      changedMeanwhile: 0,
    });
    const withoutOld = new ContentKeys(runtime, masterKeyRing(newKey));
    expect(await open(withoutOld, orphan)).toBe('orphan');
    expect(await open(withoutOld, other)).toBe('other');
  });

  it('given a wrapped key moved to another row, then the rewrap refuses it (context binds key and row)', async () => {
    const a = await sealed(oldKey, 'a');
    const b = await sealed(oldKey, 'b');
    const { rows } = await db.pool.query('SELECT wrapped_key FROM content_keys WHERE key_id = $1', [a.kid]);
    await db.pool.query('UPDATE content_keys SET wrapped_key = $2 WHERE key_id = $1', [b.kid, rows[0].wrapped_key]);
    await expect(rewrapContentKeys(runtime, masterKeyRing(newKey, [oldKey]))).rejects.toThrow(MasterKeyError);
    // clean up for the tests after: b's key is unusable anyway
    await destroyContentKeys(runtime, [b.owner.conversationId, a.owner.conversationId], randomUUID());
  });

  it('given a process caching a key unwrapped, then it keeps reading after the rewrap (same data key)', async () => {
    const s = await sealed(oldKey, 'cached');
    const reader = new ContentKeys(runtime, masterKeyRing(oldKey), { hearsDestructions: () => true });
    expect(await open(reader, s)).toBe('cached');
    await rewrapContentKeys(runtime, masterKeyRing(newKey, [oldKey]));
    expect(await open(reader, s)).toBe('cached');
    expect(await open(new ContentKeys(runtime, masterKeyRing(newKey)), s)).toBe('cached');
  });

  it('given two rewraps at once, then every key is rewrapped once and all still open', async () => {
    const contents = await Promise.all(Array.from({ length: 12 }, (_, i) => sealed(oldKey, `race ${i}`)));
    const ring = masterKeyRing(newKey, [oldKey]);
    const results = await Promise.all([
      rewrapContentKeys(runtime, ring, { batchSize: 3 }),
      rewrapContentKeys(runtime, ring, { batchSize: 5 }),
    ]);
    expect(results[0].rewrapped + results[1].rewrapped).toBe(12);
    const withoutOld = new ContentKeys(runtime, masterKeyRing(newKey));
    for (const s of contents) expect(await open(withoutOld, s)).toBe(s.text);
  });
});
