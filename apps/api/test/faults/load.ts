import { randomUUID } from 'node:crypto';

/**
 * The careful client of the fault suite: each of `clients` loops sends one message at a time to
 * its own conversation with a fresh Idempotency-Key, each message to the next API address in turn
 * (so every API gets traffic, a restarted one too), and on any error, non-2xx answer or timeout
 * retries the SAME key and body (after a short pause, on the next API address) until it is
 * acknowledged. The load stops taking new messages once finishAt's time and the duration have
 * passed; a message already sent is retried for `drainMs` more.
 */
export interface LoadOptions {
  /** The scenario's name: in every key and content, so the store's rows can be told apart. */
  scenario: string;
  /**
   * API base URLs; a client sends each message, and each retry, to the next one. Mutable: a
   * restarted API is put back in its slot.
   */
  urls: string[];
  apiKey: string;
  clients: number;
  /** How long to send new messages, ms. */
  durationMs: number;
  /** Per-request timeout, ms. */
  requestTimeoutMs: number;
  /** After the duration, how long a message already sent is retried before it counts as unanswered. */
  drainMs: number;
}

export interface Ack {
  key: string;
  content: string;
  messageId: string;
  version: number;
  client: number;
}

export interface Attempt {
  client: number;
  /** The Idempotency-Key it carried. */
  key: string;
  /** The API address it went to. */
  url: string;
  /** When it was sent and answered (or failed), ms since the epoch. */
  sentAt: number;
  doneAt: number;
  /** HTTP status; 0 for a connection error, -1 for the client's timeout. */
  status: number;
  /** The problem's code for a refusal. */
  code?: string;
}

export interface LoadResult {
  /** When the clients started (ms since the epoch). */
  startedAt: number;
  acks: Ack[];
  attempts: Attempt[];
  /** Messages sent but never acknowledged before giving up. */
  unanswered: string[];
  /** Conversations that could not even be started. */
  startFailures: number;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export interface RunningLoad {
  /** Resolves once every client has stopped. */
  done: Promise<LoadResult>;
  /** Stops every client now (a scenario that failed): requests in flight cut off, nothing more sent or retried. */
  abort(): void;
  /**
   * Lets the clients stop: until this is called they go on past `durationMs` (a fault that took
   * longer); they stop taking new messages at `at` (ms since the epoch) or after `durationMs`,
   * whichever is later.
   */
  finishAt(at: number): void;
}

/** Starts the clients; the scenario acts while they run. */
export function runLoad(options: LoadOptions): RunningLoad {
  const acks: Ack[] = [];
  const attempts: Attempt[] = [];
  const unanswered: string[] = [];
  let startFailures = 0;
  const started = Date.now();
  let stopAt = started + options.durationMs;
  let giveUpAt = Infinity;
  let released = false;
  const stopping = new AbortController();
  const headers = { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' };

  /** POSTs `body` with `key` until 2xx; the answer's body, or null once past `giveUpAt`. */
  const send = async (client: number, path: string, key: string, body: unknown, slot: { i: number }) => {
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > giveUpAt) return null;
      const base = options.urls[slot.i % options.urls.length];
      const sentAt = Date.now();
      let status = 0;
      let code: string | undefined;
      try {
        const res = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': key },
          body: JSON.stringify(body),
          signal: AbortSignal.any([AbortSignal.timeout(options.requestTimeoutMs), stopping.signal]),
        });
        status = res.status;
        const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
        if (res.ok) {
          attempts.push({ client, key, url: base, sentAt, doneAt: Date.now(), status });
          return answer;
        }
        code = typeof answer.code === 'string' ? answer.code : undefined;
      } catch (err) {
        status = (err as Error).name === 'TimeoutError' ? -1 : 0;
      }
      attempts.push({ client, key, url: base, sentAt, doneAt: Date.now(), status, code });
      slot.i++;
      await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
    }
  };

  const client = async (c: number) => {
    const slot = { i: c };
    const conversationId = randomUUID();
    const startKey = `faults-${options.scenario}-${c}-start`;
    const start = { conversationId, subjectId: `faults-${c}`, modelId: 'faults-model' };
    if (!(await send(c, '/v1/conversations', startKey, start, slot))) {
      startFailures++;
      return;
    }
    for (let n = 1; !released || Date.now() < stopAt; n++) {
      const key = `faults-${options.scenario}-${c}-${n}`;
      const content = `faults ${options.scenario} client ${c} message ${n} (${key})`;
      const body = { parentMessageId: null, role: 'user', content };
      slot.i++;
      const answer = await send(c, `/v1/conversations/${conversationId}/messages`, key, body, slot);
      if (!answer) {
        unanswered.push(key);
        return;
      }
      acks.push({ key, content, messageId: String(answer.messageId), version: Number(answer.version), client: c });
    }
  };

  const done = Promise.all(Array.from({ length: options.clients }, (_, c) => client(c))).then(() => ({
    startedAt: started,
    acks,
    attempts,
    unanswered,
    startFailures,
  }));
  return {
    done,
    abort() {
      released = true;
      stopAt = giveUpAt = 0;
      stopping.abort();
    },
    finishAt(at: number) {
      released = true;
      stopAt = Math.max(stopAt, at);
      giveUpAt = stopAt + options.drainMs;
    },
  };
}

/**
 * Recovery after a fault that ended at `faultEnd`: the first acknowledged write completed after it,
 * and the time until every client that failed since `faultStart` had one again (ms).
 */
export function recovery(
  attempts: Attempt[],
  faultStart: number,
  faultEnd: number,
): { firstMs: number | null; allMs: number | null } {
  const ok = attempts.filter((a) => a.status >= 200 && a.status < 300 && a.doneAt >= faultEnd);
  const first = Math.min(...ok.map((a) => a.doneAt));
  const failedSince = new Set(
    attempts.filter((a) => a.doneAt >= faultStart && (a.status < 200 || a.status >= 300)).map((a) => a.client),
  );
  let all = faultEnd;
  for (const c of failedSince) {
    const mine = ok.filter((a) => a.client === c).map((a) => a.doneAt);
    if (mine.length === 0) return { firstMs: Number.isFinite(first) ? first - faultEnd : null, allMs: null };
    all = Math.max(all, Math.min(...mine));
  }
  return { firstMs: Number.isFinite(first) ? first - faultEnd : null, allMs: all - faultEnd };
}

/** Answers by status (and code), e.g. `{ '201': 900, '503 DATABASE_UNAVAILABLE': 12, 'conn': 3 }`. */
export function statusCounts(attempts: Attempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of attempts) {
    const name =
      a.status === 0 ? 'conn-error' : a.status === -1 ? 'timeout' : `${a.status}${a.code ? ` ${a.code}` : ''}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/**
 * `work`, or a rejection once `ms` have passed without it settling (`work` goes on, unwatched: the
 * caller cleans up after it).
 */
export async function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not end within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
