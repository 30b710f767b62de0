import { PostgresEventStore } from '@app/event-store';
import { streamIdOf } from '@app/conversation';
import type { Principal } from '../auth/api-keys';
import { assertTenant } from '../auth/api-key.guard';
import { ApiError } from '../common/api-error';

export { streamIdOf };

/** The conversation's tenant, from its first event; 404 for an unknown or foreign one. */
export async function assertConversationVisible(
  store: PostgresEventStore,
  principal: Principal,
  conversationId: string,
): Promise<string> {
  const [first] = await store.readStream(streamIdOf(conversationId), { toVersion: 1 });
  const tenantId = first?.type === 'ConversationStarted' ? (first.data.tenantId as string) : undefined;
  if (!tenantId) throw ApiError.notFound(`conversation ${conversationId}`);
  assertTenant(principal, tenantId, `conversation ${conversationId}`);
  return tenantId;
}
