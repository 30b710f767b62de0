import type { PoolClient } from 'pg';
import { CONTENT_ACCESSED, type ContentAccessedData } from '@app/access';
import { UNLISTED_STREAM_PREFIX } from '@app/event-store';
import { Batch, IN_BATCH_SQL, Projection, rangeParams } from '../projection';

/** A field of the entry, its name checked against ContentAccessedData at compile time. */
const text = (field: keyof ContentAccessedData): string => `e.data->>'${field}'`;
const json = (field: keyof ContentAccessedData): string => `e.data->'${field}'`;

const UUID = `'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`;

/**
 * One statement per batch: the ContentAccessed events of access streams, as rows. An entry the
 * service could not have written (no key id, ids that are no UUIDs) is left out rather than
 * wedging the projection.
 */
const SQL = `INSERT INTO rm_access (event_id, accessed_at, key_id, role, tenant_id, route, conversation_ids, filter,
     request_id, position)
   SELECT e.event_id, e.occurred_at, (${text('keyId')})::uuid, ${text('role')}, ${text('tenantId')}, ${text('route')},
          ARRAY(SELECT c::uuid FROM jsonb_array_elements_text(${json('conversationIds')}) c WHERE c ~ ${UUID}),
          CASE WHEN jsonb_typeof(${json('filter')}) = 'object' THEN ${json('filter')} ELSE '{}' END,
          coalesce(${text('requestId')}, ''), e.transaction_id::text || '-' || e.position::text
     FROM es_events e
    WHERE ${IN_BATCH_SQL}
      AND e.stream_id LIKE '${UNLISTED_STREAM_PREFIX}%' AND e.type = '${CONTENT_ACCESSED}'
      AND ${text('keyId')} ~ ${UUID} AND ${text('role')} IS NOT NULL AND ${text('tenantId')} IS NOT NULL
      AND ${text('route')} IS NOT NULL AND jsonb_typeof(${json('conversationIds')}) = 'array'
   ON CONFLICT DO NOTHING`;

/** Who read what (GET /v1/audit/access). */
export const accessProjection: Projection = {
  name: 'access',
  tables: ['rm_access'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(SQL, rangeParams(batch));
  },
};
