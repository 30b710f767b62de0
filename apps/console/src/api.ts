// The console's only way to the service: the typed client (@app/client), its key from sessionStorage.
import { createConversationClient, isProblem, type components, type Problem } from '@app/client';

export const KEY_STORAGE = 'console.apiKey';

export const getKey = (): string | undefined => sessionStorage.getItem(KEY_STORAGE) ?? undefined;
export const setKey = (key: string) => sessionStorage.setItem(KEY_STORAGE, key);
export const clearKey = () => sessionStorage.removeItem(KEY_STORAGE);

export const client = createConversationClient({ baseUrl: window.location.origin, apiKey: getKey });

/** A refused call: its status and problem (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem ? `${problem.title}: ${problem.detail} (${problem.code})` : `HTTP ${status}`);
  }
  get code() {
    return this.problem?.code;
  }
}

/** The data of an openapi-fetch answer, or an ApiError. */
export function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.error !== undefined || answer.data === undefined) {
    throw new ApiError(answer.response.status, isProblem(answer.error) ? answer.error : undefined);
  }
  return answer.data;
}

export type Schemas = components['schemas'];
export type AuditEnd = Schemas['AuditEndDto'];
export type BlockedEnd = Schemas['BlockedEndDto'];
export type EventDto = Schemas['EventDto'];
export type GuardCode = BlockedEnd['failedGuards'][number];
