import { endsProjection } from './read-models/ends.projection';
import { messagesProjection } from './read-models/messages.projection';
import { statsProjection } from './read-models/stats-and-reviews.projection';
import { threadStatusProjection } from './read-models/thread-status.projection';

export * from './projection';
export * from './checkpoints';
export * from './projection-runner';
export * from './rebuild';
export * from './lag';
export * from './recorded';
export * from './event-sql';
export { threadStatusProjection, messagesProjection, endsProjection, statsProjection };

/** Every read model the service keeps, by name. */
export const ALL_PROJECTIONS = [threadStatusProjection, messagesProjection, endsProjection, statsProjection];
