import type { QueryResult } from '@nestjs/cqrs';
import type { ConversationState, ThreadStatus } from '@app/conversation';
import type { GetTimelineQuery, Timeline } from '../../audit/queries/get-timeline.query';
import type {
  GetConversationQuery,
  GetReadableConversationQuery,
  ReadableConversation,
} from './get-conversation.query';
import type { GetThreadStatusQuery } from './get-thread-status.query';

// Checked by `npm run typecheck`: queryBus.execute(query) has the type each query names with
// Query<T>; a query that lost it (a plain class) does not compile here.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const resultTypes: [
  Same<QueryResult<GetThreadStatusQuery>, ThreadStatus>,
  Same<QueryResult<GetConversationQuery>, ConversationState>,
  Same<QueryResult<GetTimelineQuery>, Timeline>,
  Same<QueryResult<GetReadableConversationQuery>, ReadableConversation>,
] = [true, true, true, true];

describe('The API queries', () => {
  it('name their result types (Query<T>)', () => {
    expect(resultTypes).toEqual([true, true, true, true]);
  });
});
