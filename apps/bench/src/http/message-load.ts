import autocannon from 'autocannon';

/** Where the load goes: the service or the bare route, with what each request carries. */
export interface HttpTarget {
  name: 'service' | 'bare';
  url: string;
  headers: Record<string, string>;
  /** `n` conversations, one for each connection, new for every run. */
  conversations(n: number): Promise<string[]>;
}

export interface LoadResult {
  /** 2xx answers per second. */
  rate: number;
  /** 2xx answers in all. */
  answered: number;
  p99Ms: number;
  /** Answers other than 2xx, and connection errors or timeouts. */
  failed: number;
  /** Answers by status code, to tell what failed. */
  statuses: Record<string, number>;
}

/** A 300-byte message content, as the issue measures. */
export const CONTENT_300 =
  `${'Could you check the order I placed on Tuesday? It has not arrived yet. '.repeat(5)}`.slice(0, 300);

export const MESSAGE_BODY = JSON.stringify({ parentMessageId: null, role: 'user', content: CONTENT_300 });

/**
 * `POST /v1/conversations/:id/messages` with autocannon: one connection per conversation, each
 * sending its next message as soon as the previous one is answered, for `seconds`.
 */
export async function messageLoad(target: HttpTarget, connections: number, seconds: number): Promise<LoadResult> {
  const ids = await target.conversations(connections);
  let next = 0;
  const headers = { ...target.headers, 'content-type': 'application/json' };
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    method: 'POST',
    headers,
    body: MESSAGE_BODY,
    // Each connection on its own conversation (autocannon makes one client per connection).
    setupClient: (client) => {
      const id = ids[next++ % ids.length];
      client.setRequests([{ method: 'POST', path: `/v1/conversations/${id}/messages`, headers, body: MESSAGE_BODY }]);
    },
  });
  return {
    rate: result['2xx'] / result.duration,
    answered: result['2xx'],
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0])),
  };
}
