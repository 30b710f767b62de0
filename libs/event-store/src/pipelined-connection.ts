import { Client, ClientConfig, QueryConfig, QueryResult, QueryResultRow } from 'pg';

/** pg's Client has ref and unref (of its socket); its typings do not say so. */
type RefClient = Client & { ref(): void; unref(): void };

interface Open {
  client: RefClient;
  inFlight: number;
}

/**
 * One connection in pipeline mode, for the batches of AppendBatcher: a batch goes out while
 * earlier ones still run, and the server takes it up the moment the one before commits,
 * without waiting for a round trip to the process and back. Each query keeps its own Sync, so
 * it is its own transaction: one that fails fails no other.
 *
 * Measured here (16 streams, WAL on tmpfs so that only CPU counts): two batches in flight on
 * one pipelined connection appended 8.5 k events/s at 159 µs of CPU each; the same two
 * batches on two pool connections, running side by side, 7.4 k/s at 210 µs.
 *
 * Opened on first use and again after it breaks (its queries then fail, and their appends
 * with them: their outcome is unknown). While nothing is in flight its socket does not keep
 * the process alive.
 */
export class PipelinedConnection {
  private open: Promise<Open> | null = null;

  constructor(private readonly config: ClientConfig) {}

  async query<R extends QueryResultRow>(query: QueryConfig): Promise<QueryResult<R>> {
    const open = await this.connect();
    if (open.inFlight++ === 0) open.client.ref();
    try {
      return await open.client.query<R>(query);
    } finally {
      if (--open.inFlight === 0) open.client.unref();
    }
  }

  async end(): Promise<void> {
    const opening = this.open;
    this.open = null;
    const open = await opening?.catch(() => null);
    await open?.client.end();
  }

  private connect(): Promise<Open> {
    if (this.open) return this.open;
    const client = new Client(batchClientConfig(this.config)) as RefClient;
    const opening = client.connect().then(() => {
      client.unref();
      return { client, inFlight: 0 };
    });
    const forget = () => {
      if (this.open === opening) this.open = null;
    };
    // A connection the server or the network dropped: the next batch opens another.
    client.on('error', forget);
    client.on('end', forget);
    opening.catch(forget);
    this.open = opening;
    return opening;
  }
}

/**
 * The pool's connection settings for the batch connection: pipelined, and named in
 * pg_stat_activity after the pool's connections with "(batches)". pg-pool keeps the password
 * as a property that spreading skips, so it is copied by name.
 */
export function batchClientConfig(pool: ClientConfig): ClientConfig {
  return {
    ...pool,
    password: pool.password,
    application_name: `${pool.application_name ?? 'event-store'} (batches)`,
    pipeline: true,
  } as ClientConfig;
}
