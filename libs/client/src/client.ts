import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

/** The service's typed client: every path, parameter and answer typed from its OpenAPI document. */
export type ConversationServiceClient = Client<paths>;

/** An RFC 9457 problem as the service answers it (`code` is the stable word to branch on). */
export type Problem = components['schemas']['ProblemDto'];

export interface ConversationClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the service answers, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** An API key (`csk_…`), sent as `Authorization: Bearer`; a function is asked before each request. */
  apiKey: string | (() => string | undefined);
}

/**
 * A typed client for the conversation service (openapi-fetch over the committed document
 * `docs/openapi.json`). Calls answer `{data, error, response}`: `error` is the problem body of any
 * answer that is not 2xx, typed per route.
 */
export function createConversationClient(options: ConversationClientOptions): ConversationServiceClient {
  const { apiKey, ...rest } = options;
  const client = createClient<paths>(rest);
  const auth: Middleware = {
    onRequest({ request }) {
      // A call that names its own Authorization (say, a key being tried at sign-in) keeps it.
      if (request.headers.has('authorization')) return request;
      const key = typeof apiKey === 'function' ? apiKey() : apiKey;
      if (key) request.headers.set('authorization', `Bearer ${key}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

/** True when `error` is a problem answer with this code (e.g. `END_BLOCKED`, `LINEAGE_ENDED`). */
export function isProblem(error: unknown, code?: string): error is Problem {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as Partial<Problem>;
  return typeof candidate.code === 'string' && (code === undefined || candidate.code === code);
}
