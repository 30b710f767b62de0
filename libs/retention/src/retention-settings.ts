import type { Pool } from 'pg';
import { appendInTransaction, type NewEvent, newEventId } from '@app/event-store';
import { inTransaction, type Queryable } from '@app/privacy';

/**
 * Per-tenant retention: a conversation's content is kept `days` after its last event, then its
 * content key is destroyed by the retention job (runRetention). Off by default. Each setting is
 * an event, `RetentionSet {tenantId, days | null}`, in the tenant's retention stream
 * (`retention-<tenant in lower case>`), with a row in retention_settings written in the same
 * transaction: the event is the record auditors see, the row is what the job reads.
 */
export const RETENTION_STREAM_PREFIX = 'retention-';
export const RETENTION_SET = 'RetentionSet';
export const RETENTION_RUN_STARTED = 'RetentionRunStarted';
export const RETENTION_RUN_COMPLETED = 'RetentionRunCompleted';

export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 36_500;

/** A tenant id as API keys name one (not `*`): 1-64 letters, digits, `.`, `_` or `-`; case kept. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The tenant's retention stream. Tenant ids keep their case everywhere (conversations,
 * keys), while stream names are lower case as the access streams' are: `Acme` and `acme` share
 * one stream, and each event names its own tenant in its data and metadata.
 */
export const retentionStreamId = (tenantId: string): string => `${RETENTION_STREAM_PREFIX}${tenantId.toLowerCase()}`;

/** Bad input to a retention setting; `flag` names the CLI flag at fault. */
export class RetentionInputError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`--${flag} ${message}`);
  }
}

export function validateTenantId(tenantId: string): string {
  if (!TENANT.test(tenantId)) {
    throw new RetentionInputError(
      'tenant',
      `must be 1-64 letters, digits, ".", "_" or "-" (one tenant; got "${tenantId}")`,
    );
  }
  return tenantId;
}

/** `--days`: a whole number from 1 to 36500, as typed (no sign, no fraction, no exponent). */
export function parseRetentionDays(value: string): number {
  const days = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(days >= MIN_RETENTION_DAYS && days <= MAX_RETENTION_DAYS)) {
    throw new RetentionInputError(
      'days',
      `must be a whole number of days from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}; got "${value}"`,
    );
  }
  return days;
}

/** Who set it: `actor` (the operator, or the OS user) and where it ran (provenance of the CLI). */
export interface RetentionProvenance {
  actor: { type: 'operator' | 'system'; id: string };
  osUser?: string;
  host?: string;
}

export interface RetentionSetting {
  tenantId: string;
  /** null: off. */
  days: number | null;
  setAt: Date;
  setBy: string;
}

/** Records a setting (event and row, one transaction). `days` null turns retention off. */
export async function setRetention(
  pool: Pool,
  input: { tenantId: string; days: number | null; by: RetentionProvenance; now?: Date },
): Promise<RetentionSetting & { eventId: string }> {
  const tenantId = validateTenantId(input.tenantId);
  if (input.days !== null) parseRetentionDays(String(input.days));
  const setAt = input.now ?? new Date();
  const event: NewEvent = {
    eventId: newEventId(),
    type: RETENTION_SET,
    data: { tenantId, days: input.days },
    metadata: { ...input.by, actor: { ...input.by.actor }, tenantId },
    occurredAt: setAt.toISOString(),
  };
  await inTransaction(pool, async (c) => {
    await appendInTransaction(c, retentionStreamId(tenantId), [event], { expectedVersion: 'any' });
    await c.query(
      `INSERT INTO retention_settings (tenant_id, days, set_at, set_by, event_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id) DO UPDATE
         SET days = EXCLUDED.days, set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by, event_id = EXCLUDED.event_id`,
      [tenantId, input.days, setAt, input.by.actor.id, event.eventId],
    );
  });
  return { tenantId, days: input.days, setAt, setBy: input.by.actor.id, eventId: event.eventId };
}

/** Every tenant that ever had a setting (those turned off read `days: null`), by tenant id. */
export async function listRetention(q: Queryable): Promise<RetentionSetting[]> {
  const { rows } = await q.query<RetentionSetting>(
    `SELECT tenant_id AS "tenantId", days, set_at AS "setAt", set_by AS "setBy"
       FROM retention_settings ORDER BY tenant_id COLLATE "C"`,
  );
  return rows;
}

/** One transaction on one client of the pool (the privacy library's): retention's callers import it from here. */
export { inTransaction };
