import { randomBytes, randomUUID } from 'node:crypto';
import type { ClientConfig, QueryResult, QueryResultRow } from 'pg';
import { LruCache, NotificationListener } from '@app/platform';
import type { DataKey } from './content-cipher';
import { type MasterKeyRing, MasterKeyError } from './master-key';

/** A pool or one checked-out client. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** Whose a conversation is: its key row names tenant and subject, so erasure finds it without the log. */
export interface ConversationOwner {
  conversationId: string;
  tenantId: string;
  subjectId: string;
  /**
   * Keys the conversation's stream says were destroyed (its ContentErased events): a cached key
   * among them is dropped even before this process hears the destruction's NOTIFY.
   */
  retiredKeyIds?: readonly string[];
  /**
   * The stream holds nothing sealed yet (its start at most): its key is most likely still to be
   * made, so liveKey tries making it before looking for one (one round trip instead of two).
   * Only an order: a key an earlier attempt made is found once the insert conflicts.
   */
  keyLikelyNew?: boolean;
}

/** NOTIFY channel: payload = the destroyed key ids, comma separated (sent at commit). */
export const CONTENT_KEYS_DESTROYED_CHANNEL = 'content_keys_destroyed';

/** What a key id resolves to: the key, or the fact that it was destroyed (erased content). */
export type KeyLookup = { state: 'live'; key: DataKey } | { state: 'destroyed'; destroyedAt: Date };

/** The context bound to a wrapped key: the same bytes in another row do not unwrap. */
export const wrapContext = (kid: string, conversationId: string): string => `content-key\n${kid}\n${conversationId}`;

interface Cached {
  lookup: KeyLookup;
  at: number;
}

interface KeyRow {
  key_id: string;
  conversation_id: string;
  wrapped_key: Buffer | null;
  master_key_id: string | null;
  destroyed_at: Date | null;
}

const KEY_COLUMNS = 'key_id, conversation_id, wrapped_key, master_key_id, destroyed_at';

/** A key row waiting for its INSERT; resolved with whether it was written (false: the conversation had a live key). */
interface PendingKeyRow {
  kid: string;
  owner: ConversationOwner;
  wrapped: Buffer;
  masterKeyId: string;
  resolve(written: boolean): void;
  reject(err: unknown): void;
}

/** Key rows one INSERT writes at most. */
const KEY_ROWS_PER_INSERT = 256;

const INSERT_KEYS_SQL = `
  INSERT INTO content_keys (key_id, conversation_id, tenant_id, subject_id, wrapped_key, master_key_id)
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bytea[], $6::text[]) AS r(k, c, t, s, w, m)
  ORDER BY r.c -- every process's INSERTs meet the conversations' rows in one order: none deadlocks
  ON CONFLICT (conversation_id) WHERE destroyed_at IS NULL DO NOTHING
  RETURNING key_id`;

export interface ContentKeysOptions {
  /** How many keys a process keeps unwrapped (and how many conversations' live key ids). */
  capacity?: number;
  /**
   * Whether destructions reach this process at once (its listener is connected). While not,
   * a cached key is trusted for `unheardTrustMs` only, then looked up again.
   */
  hearsDestructions?: () => boolean;
  unheardTrustMs?: number;
}

/**
 * The conversations' data keys: made on a conversation's first sealed field, wrapped by the
 * master key (the database never sees a data key in clear), cached unwrapped in the process and
 * forgotten in every process when destroyed (NOTIFY at commit; see ContentKeyListener).
 * A conversation has at most one live key; after an erasure its next sealed field gets a new one.
 */
export class ContentKeys {
  private readonly byKid: LruCache<string, Cached>;
  private readonly liveKid: LruCache<string, string>;
  private readonly hears: () => boolean;
  private readonly unheardTrustMs: number;
  /** Moves on at every clear(): an answer read before it is given, never cached (see store). */
  private generation = 0;
  /** Key rows made while an INSERT of others is under way: they go together in the next (see writeKeyRows). */
  private readonly keyRows: PendingKeyRow[] = [];
  private writingKeyRows = false;

  constructor(
    private readonly db: Queryable,
    private readonly ring: MasterKeyRing,
    options: ContentKeysOptions = {},
  ) {
    const capacity = options.capacity ?? 10_000;
    this.byKid = new LruCache(capacity);
    this.liveKid = new LruCache(capacity);
    this.hears = options.hearsDestructions ?? (() => false);
    this.unheardTrustMs = options.unheardTrustMs ?? 1_000;
  }

  /**
   * The conversation's live key when this process holds it and may still trust it (never a
   * key the stream says was destroyed, nor one past its trust without hearing destructions);
   * undefined otherwise, and then liveKey looks it up.
   */
  knownLiveKey(owner: ConversationOwner): DataKey | undefined {
    const conversationId = owner.conversationId.toLowerCase();
    const kid = this.liveKid.get(conversationId);
    if (kid === undefined) return undefined;
    if (owner.retiredKeyIds?.includes(kid)) this.destroyed(kid);
    const found = this.cached(kid);
    if (found?.state === 'live') return found.key;
    this.liveKid.delete(conversationId);
    return undefined;
  }

  /** The conversation's live key, made (and its row written) when it has none. */
  async liveKey(owner: ConversationOwner): Promise<DataKey> {
    const known = this.knownLiveKey(owner);
    if (known) return known;
    const conversationId = owner.conversationId.toLowerCase();
    const generation = this.generation;
    if (owner.keyLikelyNew) {
      const made = await this.make({ ...owner, conversationId });
      if (made) return made;
      // it had one after all (an earlier attempt made it, or another process): read it below
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.db.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM content_keys WHERE conversation_id = $1 AND destroyed_at IS NULL`,
        [conversationId],
      );
      if (rows[0]) {
        const found = await this.remember(rows[0], generation);
        if (found.state === 'live') return found.key;
        continue; // destroyed while it was read: the next query sees the destruction
      }
      const made = await this.make({ ...owner, conversationId });
      if (made) return made;
      // another process made it meanwhile: read theirs
    }
    throw new Error(`no live content key for conversation ${conversationId}`);
  }

  /** A key by id; null when no such key exists. */
  async lookup(kid: string): Promise<KeyLookup | null> {
    const id = kid.toLowerCase();
    const hit = this.cached(id);
    if (hit) return hit;
    const generation = this.generation;
    const { rows } = await this.db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM content_keys WHERE key_id = $1`, [id]);
    if (!rows[0]) return null;
    if (rows[0].destroyed_at) return this.store(id, { state: 'destroyed', destroyedAt: rows[0].destroyed_at });
    return this.remember(rows[0], generation);
  }

  /** Many keys at once (one query for the ones not cached). */
  async lookupMany(kids: Iterable<string>): Promise<Map<string, KeyLookup | null>> {
    const out = new Map<string, KeyLookup | null>();
    const missing: string[] = [];
    for (const kid of new Set([...kids].map((k) => k.toLowerCase()))) {
      const hit = this.cached(kid);
      if (hit) out.set(kid, hit);
      else missing.push(kid);
    }
    if (missing.length > 0) {
      const generation = this.generation;
      const { rows } = await this.db.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM content_keys WHERE key_id = ANY($1::uuid[])`,
        [missing],
      );
      for (const row of rows) {
        out.set(
          row.key_id,
          row.destroyed_at
            ? this.store(row.key_id, { state: 'destroyed', destroyedAt: row.destroyed_at })
            : await this.remember(row, generation),
        );
      }
      for (const kid of missing) if (!out.has(kid)) out.set(kid, null);
    }
    return out;
  }

  /** Destroyed elsewhere (NOTIFY) or here: the key is never used again by this process. */
  destroyed(kid: string): void {
    this.byKid.set(kid.toLowerCase(), { lookup: { state: 'destroyed', destroyedAt: new Date() }, at: Date.now() });
  }

  /** A conversation whose live key may have changed (a command retried after a conflict). */
  forgetConversation(conversationId: string): void {
    this.liveKid.delete(conversationId.toLowerCase());
  }

  /**
   * After a gap in hearing destructions: nothing cached is trusted any more, nor any read under
   * way (its row may have been read before a destruction that went unheard).
   */
  clear(): void {
    this.generation++;
    this.byKid.clear();
    this.liveKid.clear();
  }

  private cached(kid: string): KeyLookup | undefined {
    const hit = this.byKid.get(kid);
    if (!hit) return undefined;
    if (hit.lookup.state === 'live' && !this.hears() && Date.now() - hit.at > this.unheardTrustMs) {
      this.byKid.delete(kid);
      return undefined;
    }
    return hit.lookup;
  }

  /**
   * A destruction heard while a read of the key was under way (its row read before the erasure
   * committed) stands: a live answer never replaces a destroyed one. A live answer read before
   * the last clear() is given to its caller but not kept: a destruction may have gone unheard.
   */
  private store(kid: string, lookup: KeyLookup, generation = this.generation): KeyLookup {
    const known = this.byKid.get(kid)?.lookup;
    if (known?.state === 'destroyed' && lookup.state === 'live') return known;
    if (lookup.state === 'live' && generation !== this.generation) return lookup;
    this.byKid.set(kid, { lookup, at: Date.now() });
    return lookup;
  }

  private async remember(row: KeyRow, generation: number): Promise<KeyLookup> {
    const master = row.master_key_id === null ? undefined : this.ring.byId(row.master_key_id);
    if (!master || row.wrapped_key === null) {
      throw new MasterKeyError(
        `content key ${row.key_id} is wrapped by master key ${row.master_key_id}, which this process does not hold ` +
          '(CONTENT_KEY_FILE, CONTENT_KEY_PREVIOUS_FILES)',
      );
    }
    const key: DataKey = {
      kid: row.key_id,
      key: await master.unwrap(row.wrapped_key, wrapContext(row.key_id, row.conversation_id)),
    };
    return this.keepLive(key, row.conversation_id, generation);
  }

  /** A live key read or made at `generation`: kept as the conversation's live key unless cleared since. */
  private keepLive(key: DataKey, conversationId: string, generation: number): KeyLookup {
    const found = this.store(key.kid, { state: 'live', key }, generation);
    if (found.state === 'live' && generation === this.generation) this.liveKid.set(conversationId, key.kid);
    return found;
  }

  private async make(owner: ConversationOwner): Promise<DataKey | null> {
    const generation = this.generation;
    const kid = randomUUID();
    const key = randomBytes(32);
    const master = this.ring.current;
    const wrapped = await master.wrap(key, wrapContext(kid, owner.conversationId));
    const written = await new Promise<boolean>((resolve, reject) => {
      this.keyRows.push({ kid, owner, wrapped, masterKeyId: master.id, resolve, reject });
      if (!this.writingKeyRows) void this.writeKeyRows();
    });
    if (!written) return null;
    const made = { kid, key };
    this.keepLive(made, owner.conversationId, generation);
    return made;
  }

  /**
   * Group commit for key rows: one goes at once; those made while its INSERT is under way go
   * together in the next one (one statement, one commit). Conversations started together (say
   * a front end's burst) then wait for one commit, not for a commit each in turn on the pool:
   * 64 first messages at once waited 32–42 ms (median) for their keys one INSERT each, on this
   * 2-core VM under the encryption bench's load. A failed INSERT fails every make in it: their
   * commands fail as after any failed write (not retried here; the caller may send them again,
   * and their next attempt makes a new key), and none of its keys is kept.
   */
  private async writeKeyRows(): Promise<void> {
    this.writingKeyRows = true;
    try {
      while (this.keyRows.length > 0) {
        const rows = this.keyRows.splice(0, KEY_ROWS_PER_INSERT);
        try {
          const { rows: written } = await this.db.query<{ key_id: string }>(INSERT_KEYS_SQL, [
            rows.map((r) => r.kid),
            rows.map((r) => r.owner.conversationId),
            rows.map((r) => r.owner.tenantId),
            rows.map((r) => r.owner.subjectId),
            rows.map((r) => r.wrapped),
            rows.map((r) => r.masterKeyId),
          ]);
          const ids = new Set(written.map((w) => w.key_id));
          for (const r of rows) r.resolve(ids.has(r.kid));
        } catch (err) {
          for (const r of rows) r.reject(err);
        }
      }
    } finally {
      this.writingKeyRows = false;
    }
  }
}

/**
 * Destroys the live keys of the conversations, inside the caller's transaction (the erasure's
 * ContentErased events commit with it); every process forgets them at commit. Returns the key
 * ids destroyed (none for a conversation without content keys or already erased).
 */
export async function destroyContentKeys(
  client: Queryable,
  conversationIds: readonly string[],
  erasureId: string,
): Promise<string[]> {
  if (conversationIds.length === 0) return [];
  const { rows } = await client.query<{ key_id: string }>(
    `UPDATE content_keys SET wrapped_key = NULL, master_key_id = NULL, destroyed_at = now(), erasure_id = $2
      WHERE conversation_id = ANY($1::uuid[]) AND destroyed_at IS NULL
      RETURNING key_id`,
    [conversationIds.map((c) => c.toLowerCase()), erasureId],
  );
  const kids = rows.map((r) => r.key_id);
  // one notification per 100 keys keeps each payload far below NOTIFY's 8000-byte limit
  for (let i = 0; i < kids.length; i += 100) {
    await client.query('SELECT pg_notify($1, $2)', [CONTENT_KEYS_DESTROYED_CHANNEL, kids.slice(i, i + 100).join(',')]);
  }
  return kids;
}

/**
 * Hears destructions on a connection of its own and tells the process's ContentKeys; after a
 * gap in listening it drops every cached key (a destruction may have been missed).
 */
export class ContentKeyListener {
  private readonly listener: NotificationListener;

  constructor(
    connection: ClientConfig,
    keys: () => ContentKeys | undefined,
    warn: (m: string) => void = () => undefined,
  ) {
    this.listener = new NotificationListener({
      connection: { ...connection, application_name: 'conversation-service-content-keys' },
      channels: [CONTENT_KEYS_DESTROYED_CHANNEL],
      onNotification: (_channel, payload) => {
        for (const kid of payload.split(',')) if (kid) keys()?.destroyed(kid);
      },
      onResumed: async () => keys()?.clear(),
      warn: (m) => warn(`content keys ${m}`),
    });
  }

  get live(): boolean {
    return this.listener.live;
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }
}
