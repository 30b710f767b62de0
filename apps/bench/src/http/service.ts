import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { SEQUENCER_NAME } from '@app/transparency';
import { ALL_PROJECTIONS, projectionLags, rebuildProjections } from '@app/projections';
import { HttpTarget } from './message-load';
import { DIST_APPS, NodeProcess, runNodeScript, startNodeProcess } from './node-process';

/** The service's tenant in the bench; its conversations and key belong to it. */
export const BENCH_TENANT = 'bench';

export interface RunningService {
  target: HttpTarget;
  /** CPU time the service's process has used so far, in ms (null where it cannot be read). */
  cpuMs(): number | null;
  /** Resolves once every projection has processed the whole log (looking every `pollMs`, 500 by default). */
  caughtUp(pollMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A writer key of the bench tenant, made by the CLI (`keys:create`), as an operator would. */
async function createWriterKey(databaseUrl: string): Promise<string> {
  const cli = join(DIST_APPS, 'cli/src/main.js');
  const args = ['keys:create', '--role', 'writer', '--tenant', BENCH_TENANT, '--label', 'bench', '--actor', 'bench'];
  const out = await runNodeScript(cli, args, { DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: '' });
  const key = out.trim().split('\n').at(-1) ?? '';
  if (!key.startsWith('csk_')) throw new Error(`keys:create printed no key:\n${out}`);
  return key;
}

/** POST /v1/conversations, answering the new conversation's id. */
export async function startConversation(url: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${url}/v1/conversations`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ subjectId: 'bench-user', modelId: 'bench-model' }),
  });
  const body = (await res.json()) as { conversationId?: string };
  if (res.status !== 201 || !body.conversationId)
    throw new Error(`POST /v1/conversations: ${res.status} ${JSON.stringify(body)}`);
  return body.conversationId;
}

/** Above this many events behind, the read models are rebuilt before the service starts. */
const REBUILD_ABOVE = 100_000;

/**
 * A service started on a freshly seeded log would spend the first minutes catching its read
 * models up, while being measured. A rebuild (parallel, batched) brings them to the head first.
 */
async function readModelsAtHead(databaseUrl: string, progress: (line: string) => void): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrl, max: 8 });
  const store = new PostgresEventStore(pool);
  try {
    const behind = Math.max(
      ...(
        await projectionLags(
          pool,
          ALL_PROJECTIONS.map((p) => p.name),
        )
      ).map((l) => l.lagEvents),
    );
    if (behind <= REBUILD_ABOVE) return;
    progress(`read models ${behind} events behind the log: rebuilding them before the service starts`);
    const started = Date.now();
    let said = started;
    await rebuildProjections(pool, store, ALL_PROJECTIONS, (events) => {
      if (Date.now() - said < 10_000) return;
      said = Date.now();
      progress(`rebuilding read models: ${events} events`);
    });
    progress(`read models rebuilt in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await store.close();
    await pool.end();
  }
}

/**
 * The API as the default start runs it (`node dist/apps/api/src/main.js`, projections in
 * process, request logs on, rate limits checked), in its own process. The rate limits are
 * raised, not switched off, so their cost stays on the path but 64 connections on one key are
 * not throttled at 1,000 requests per second.
 */
export async function startService(
  databaseUrl: string,
  progress: (line: string) => void,
  options: { name?: string; env?: Record<string, string>; readyOutput?: RegExp } = {},
): Promise<RunningService> {
  await readModelsAtHead(databaseUrl, progress);
  const key = await createWriterKey(databaseUrl);
  const env = {
    DATABASE_URL: databaseUrl,
    MIGRATION_DATABASE_URL: '',
    HOST: '127.0.0.1',
    PROJECTIONS_IN_PROCESS: 'true',
    RATE_LIMIT_PER_KEY: '1000000',
    RATE_LIMIT_BURST: '10000000',
    RATE_LIMIT_PER_ADDRESS: '1000000',
    RATE_LIMIT_ADDRESS_BURST: '10000000',
    ...options.env,
  };
  const name = options.name ?? 'api';
  const main = join(DIST_APPS, 'api/src/main.js');
  const api: NodeProcess = await startNodeProcess(name, main, env, 'PORT', '/health', options.readyOutput);
  progress(`service ${name === 'api' ? '' : `${name} `}started at ${api.url}`);
  const headers = { authorization: `Bearer ${key}` };
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  // The transparency log's sequencer too: a round measured while it catches up pays for it.
  const names = [...ALL_PROJECTIONS.map((p) => p.name), SEQUENCER_NAME];
  return {
    target: {
      name: 'service',
      url: api.url,
      headers,
      conversations: (n) => Promise.all(Array.from({ length: n }, () => startConversation(api.url, headers))),
    },
    cpuMs: () => api.cpuMs(),
    async caughtUp(pollMs = 500) {
      let said = Date.now();
      for (;;) {
        const behind = Math.max(...(await projectionLags(pool, names)).map((l) => l.lagEvents));
        if (behind === 0) return;
        if (Date.now() - said > 10_000) {
          progress(`waiting for the service's projections: ${behind} events behind`);
          said = Date.now();
        }
        await sleep(pollMs);
      }
    },
    async stop() {
      await api.stop();
      await pool.end();
    },
  };
}
