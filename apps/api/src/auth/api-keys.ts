import type { Role } from '@app/access';

// The keys themselves (entity, create, revoke, list, events) live in @app/access, shared with
// the CLI; this is the API's view of a key once a request has presented it (ALL_TENANTS is
// re-exported for the conversation handlers that import it from here).
export { ALL_TENANTS } from '@app/access';

/** Who is calling: from the API key. `tenantId` '*' sees every tenant. */
export interface Principal {
  keyId: string;
  role: Role;
  tenantId: string;
  /** The person the key was issued to (`keys:create --holder`), if named. */
  holder: string | null;
  /** The key's label (`keys:create --label`), if given; absent where a caller is built in code. */
  label?: string | null;
  /** The key stops working at this time (null: never); open event streams close then. */
  expiresAt: Date | null;
}
