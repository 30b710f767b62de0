import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { SubmitFeedback } from '@app/conversation';
import { appended, ConversationBusCommand, COMMAND_DEPS, type Appended } from './conversation-commands';

export class SubmitFeedbackCommand extends ConversationBusCommand<SubmitFeedback['data'], Appended> {}

/** The user's feedback, also on ended conversations. Rule: decide-review.ts `submitFeedback`. */
@CommandHandler(SubmitFeedbackCommand)
export class SubmitFeedbackHandler implements ICommandHandler<SubmitFeedbackCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: SubmitFeedbackCommand): Promise<Appended> {
    const command: SubmitFeedback = { type: 'SubmitFeedback', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return appended(outcome);
  }
}
