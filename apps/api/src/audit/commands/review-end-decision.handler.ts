import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { ReviewEndDecision } from '@app/conversation';
import {
  appended,
  type Appended,
  COMMAND_DEPS,
  ConversationBusCommand,
  firstEventField,
} from '../../conversations/commands/conversation-commands';

export class ReviewEndDecisionCommand extends ConversationBusCommand<
  ReviewEndDecision['data'],
  Appended & { reviewId: string }
> {}

/**
 * An auditor's review of an end; never by the key or the person that recorded it (separation of
 * duties, checked in handleConversationCommand). Rule: decide-review.ts `reviewEndDecision`.
 */
@CommandHandler(ReviewEndDecisionCommand)
export class ReviewEndDecisionHandler implements ICommandHandler<ReviewEndDecisionCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: ReviewEndDecisionCommand): Promise<Appended & { reviewId: string }> {
    const command: ReviewEndDecision = { type: 'ReviewEndDecision', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return { reviewId: firstEventField(outcome, 'reviewId'), ...appended(outcome) };
  }
}
