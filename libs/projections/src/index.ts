import { endsProjection } from './read-models/ends.projection';
import { messagesProjection } from './read-models/messages.projection';
import { statsProjection } from './read-models/stats-and-reviews.projection';
import { threadStatusProjection } from './read-models/thread-status.projection';
import { accessProjection } from './read-models/access.projection';
import { AccessEntity } from './read-models/access.entity';
import { ThreadStatusEntity } from './read-models/thread-status.entity';
import { MessageEntity } from './read-models/messages.entity';
import { BlockedEndEntity, EndEntity } from './read-models/ends.entity';
import { DailyEndsEntity, DailyStartedEntity, ReviewEntity } from './read-models/stats-and-reviews.entity';

export * from './projection';
export * from './checkpoints';
export * from './projection-runner';
export * from './rebuild';
export * from './lag';
export * from './recorded';
export * from './event-sql';
export { threadStatusProjection, messagesProjection, endsProjection, statsProjection, accessProjection };

/** Every read model the service keeps, by name. */
export const ALL_PROJECTIONS = [
  threadStatusProjection,
  messagesProjection,
  endsProjection,
  statsProjection,
  accessProjection,
];

export { ThreadStatusEntity, MessageEntity, EndEntity, BlockedEndEntity };
export { DailyEndsEntity, DailyStartedEntity, ReviewEntity, AccessEntity };

/** The read models' tables as TypeORM entities (mapped as the migrations made them; a test compares). */
export const READ_MODEL_ENTITIES = [
  ThreadStatusEntity,
  MessageEntity,
  EndEntity,
  BlockedEndEntity,
  DailyEndsEntity,
  DailyStartedEntity,
  ReviewEntity,
  AccessEntity,
];
