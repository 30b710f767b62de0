import { randomUUID } from 'node:crypto';
import { newEventId } from '@app/event-store';
import { Pool, types } from 'pg';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { PostgresEventStore } from '@app/event-store';

export const CONTENDERS = ['store', 'raw', 'emmett'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** One worker's stream: each call appends the next event with its exact expected version. */
export type StreamWriter = () => Promise<void>;

export interface Contender {
  name: ContenderName;
  stream(): StreamWriter;
}

export interface Contenders {
  all: Contender[];
  close(): Promise<void>;
}

// Emmett sets process-wide pg type parsers (int8 as BigInt, its own JSON reader) once it
// opens a pool; the store and raw pools keep pg's own, as they would in the service.
const PG_PARSERS = new Map([20, 114, 3802].map((oid) => [oid, types.getTypeParser(oid)]));
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    PG_PARSERS.get(oid) ?? types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

/** A MessageAppended-like event of about 200 bytes of data. */
function messageAppended(conversationId: string, n: number) {
  return {
    eventId: newEventId(),
    type: 'MessageAppended',
    data: {
      conversationId,
      messageId: randomUUID(),
      parentMessageId: n > 1 ? randomUUID() : null,
      role: n % 2 ? 'user' : 'assistant',
      text: `Message ${n}: could you check the order I placed on Tuesday? It has not arrived yet.`,
    },
    metadata: {
      actor: { type: 'user', id: 'u-7' },
      tenantId: 't-1',
      correlationId: randomUUID(),
      commandId: randomUUID(),
    },
    occurredAt: new Date().toISOString(),
  };
}

const IDEMPOTENCY_SCOPE = 't-1:POST /v1/conversations/:id/messages';
const REQUEST_HASH = 'c'.repeat(64);

export function storeContender(store: PostgresEventStore): Contender {
  return {
    name: 'store',
    stream() {
      const id = randomUUID();
      let version = 0;
      return async () => {
        const event = messageAppended(id, version + 1);
        await store.append(`bench-${id}`, [event], {
          expectedVersion: version,
          idempotency: { scope: IDEMPOTENCY_SCOPE, key: randomUUID(), requestHash: REQUEST_HASH },
        });
        version++;
      };
    },
  };
}

const RAW_TABLE = `CREATE TABLE bench_raw (
  stream_id text NOT NULL, version bigint NOT NULL, event_id uuid NOT NULL, type text NOT NULL,
  data jsonb NOT NULL, metadata jsonb NOT NULL, UNIQUE (stream_id, version))`;

function rawContender(pool: Pool): Contender {
  return {
    name: 'raw',
    stream() {
      const id = randomUUID();
      let version = 0;
      return async () => {
        const e = messageAppended(id, version + 1);
        await pool.query({
          name: 'bench_raw_insert',
          text:
            'INSERT INTO bench_raw (stream_id, version, event_id, type, data, metadata) ' +
            'VALUES ($1, $2, $3, $4, $5, $6)',
          values: [`bench-${id}`, version + 1, e.eventId, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)],
        });
        version++;
      };
    },
  };
}

function emmettContender(store: ReturnType<typeof getPostgreSQLEventStore>): Contender {
  return {
    name: 'emmett',
    stream() {
      const id = randomUUID();
      let version = 0n;
      return async () => {
        const e = messageAppended(id, Number(version) + 1);
        await store.appendToStream(`conversation-${id}`, [{ type: e.type, data: e.data, metadata: e.metadata }], {
          expectedStreamVersion: version,
        });
        version++;
      };
    },
  };
}

/**
 * The three contenders on one database. Raw and Emmett share a pool sized for the highest
 * concurrency (they never run at once, and max_connections is often 100); the store batches
 * on a connection of its own, and its pool serves lone appends.
 */
export async function openContenders(url: string, maxConcurrency: number): Promise<Contenders> {
  const storePool = new Pool({ connectionString: url, max: 8, types: pgTypes });
  const sharedPool = new Pool({ connectionString: url, max: maxConcurrency });
  const store = new PostgresEventStore(storePool);
  await sharedPool.query('DROP TABLE IF EXISTS bench_raw');
  await sharedPool.query(RAW_TABLE);
  const emmett = getPostgreSQLEventStore(url, { connectionOptions: { pool: sharedPool } });
  await emmett.schema.migrate();
  return {
    all: [storeContender(store), rawContender(sharedPool), emmettContender(emmett)],
    async close() {
      await emmett.close();
      await store.close();
      await Promise.all([storePool.end(), sharedPool.end()]);
    },
  };
}
