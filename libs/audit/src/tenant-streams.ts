import { EVENT_COLUMNS, EventRow, StoredEvent, toStoredEvent } from '@app/event-store';
import { eventData, typeIs } from '@app/projections';
import type { Queryable } from './queryable';

/**
 * SQL: the tenant that started the stream `stream` (an SQL expression): the tenantId of its
 * ConversationStarted at version 1; '' when version 1 is something else; NULL when there is no
 * such stream. Read models and paths only name ids: who a stream belongs to is read from the
 * log. A scalar subquery, so always one probe of the (stream_id, stream_version) index per row,
 * never a join over the log whatever the planner estimates.
 */
const STARTED_TENANT = `CASE WHEN ${typeIs(['ConversationStarted'], 's')}
  THEN coalesce(${eventData('ConversationStarted', 's.data').text('tenantId')}, '') ELSE '' END`;
export const startingTenantOf = (stream: string): string =>
  `(SELECT ${STARTED_TENANT} FROM es_events s WHERE s.stream_id = ${stream} AND s.stream_version = 1)`;

/** SQL: the stream was started by the tenant (false also when there is no such stream). */
export const streamStartedBy = (stream: string, tenant: string): string => `${startingTenantOf(stream)} = ${tenant}`;

/** A stream's events, version 1 first; with a tenant, none unless that tenant started it. */
export async function readStreamOfTenant(
  q: Queryable,
  streamId: string,
  tenantId: string | undefined,
): Promise<StoredEvent[]> {
  const { rows } = await q.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM es_events
      WHERE stream_id = $1 AND ($2::text IS NULL OR ${streamStartedBy('$1', '$2')})
      ORDER BY stream_version`,
    [streamId, tenantId ?? null],
  );
  return rows.map(toStoredEvent);
}
