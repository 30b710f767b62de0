import type { PoolClient } from 'pg';
import { UNLISTED_STREAM_PREFIX } from '@app/event-store';
import { Batch, IN_BATCH_SQL, Projection, rangeParams } from '../projection';

const UUID = `'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`;

/**
 * One statement per batch: the ContentAccessed events of access streams, as rows. An entry the
 * service could not have written (no key id, ids that are no UUIDs) is left out rather than
 * wedging the projection.
 */
const SQL = `INSERT INTO rm_access (event_id, accessed_at, key_id, role, tenant_id, route, conversation_ids, filter,
     request_id, position)
   SELECT e.event_id, e.occurred_at, (e.data->>'keyId')::uuid, e.data->>'role', e.data->>'tenantId', e.data->>'route',
          ARRAY(SELECT c::uuid FROM jsonb_array_elements_text(e.data->'conversationIds') c WHERE c ~ ${UUID}),
          CASE WHEN jsonb_typeof(e.data->'filter') = 'object' THEN e.data->'filter' ELSE '{}' END,
          coalesce(e.data->>'requestId', ''), e.transaction_id::text || '-' || e.position::text
     FROM es_events e
    WHERE ${IN_BATCH_SQL}
      AND e.stream_id LIKE '${UNLISTED_STREAM_PREFIX}%' AND e.type = 'ContentAccessed'
      AND e.data->>'keyId' ~ ${UUID} AND e.data->>'role' IS NOT NULL AND e.data->>'tenantId' IS NOT NULL
      AND e.data->>'route' IS NOT NULL AND jsonb_typeof(e.data->'conversationIds') = 'array'
   ON CONFLICT DO NOTHING`;

/** Who read what (GET /v1/audit/access). */
export const accessProjection: Projection = {
  name: 'access',
  tables: ['rm_access'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(SQL, rangeParams(batch));
  },
};
