import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import Fastify from 'fastify';
import { Pool } from 'pg';

/**
 * The `http` figure's baseline, run as a process of its own like the service: the same route
 * and body as `POST /v1/conversations/:id/messages`, answered with one raw INSERT guarded by a
 * unique (stream, version) constraint, the shape of the store bench's raw contender. No
 * authentication, validation, hash chain, idempotency or fold: the floor under the service.
 *
 * Environment: BARE_DATABASE_URL, BARE_PORT, BARE_POOL_SIZE. Prints `listening <port>`.
 */
const BARE_TABLE = 'bench_http_raw';

// Emptied at every start, like the store bench's raw table.
const TABLE = `CREATE TABLE ${BARE_TABLE} (
  stream_id text NOT NULL, version bigint NOT NULL, event_id uuid NOT NULL, type text NOT NULL,
  data jsonb NOT NULL, metadata jsonb NOT NULL, UNIQUE (stream_id, version))`;

const INSERT = `INSERT INTO ${BARE_TABLE} (stream_id, version, event_id, type, data, metadata)
  VALUES ($1, $2, $3, $4, $5, $6)`;

interface MessageBody {
  messageId?: string;
  parentMessageId: string | null;
  role: string;
  content: string;
}

async function main(): Promise<void> {
  // The service's V8 setting (tuneRuntime in @app/platform), without loading that library here.
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  const pool = new Pool({
    connectionString: process.env.BARE_DATABASE_URL,
    max: Number(process.env.BARE_POOL_SIZE ?? 20),
  });
  await pool.query(`DROP TABLE IF EXISTS ${BARE_TABLE}`);
  await pool.query(TABLE);
  // The next version of each stream, as the one writer of its streams would keep it.
  const versions = new Map<string, number>();
  const app = Fastify({ logger: false });
  app.get('/health', async () => ({ status: 'ok' }));
  app.post<{ Params: { id: string }; Body: MessageBody }>('/v1/conversations/:id/messages', async (req, reply) => {
    const streamId = `conversation-${req.params.id}`;
    const version = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, version);
    const messageId = req.body.messageId ?? randomUUID();
    const { parentMessageId, role, content } = req.body;
    try {
      await pool.query({
        name: 'bare_insert',
        text: INSERT,
        values: [
          streamId,
          version,
          randomUUID(),
          'MessageAppended',
          JSON.stringify({ messageId, parentMessageId, role, content }),
          JSON.stringify({ actor: { type: 'user', id: 'bench' }, tenantId: 'bench', correlationId: req.id }),
        ],
      });
    } catch (err) {
      versions.delete(streamId);
      if ((err as { code?: string }).code === '23505') return reply.code(409).send({ code: 'VERSION_CONFLICT' });
      throw err;
    }
    return reply.code(201).send({ messageId, version });
  });
  const close = async () => {
    await app.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void close());
  process.once('SIGINT', () => void close());
  await app.listen({ port: Number(process.env.BARE_PORT ?? 0), host: '127.0.0.1' });
  const address = app.server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : '?'}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
