import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { StartConversation } from '@app/conversation';
import {
  appended,
  ConversationBusCommand,
  COMMAND_DEPS,
  firstEventField,
  type Appended,
} from './conversation-commands';

export class StartConversationCommand extends ConversationBusCommand<
  StartConversation['data'],
  Appended & { conversationId: string }
> {}

/** A new conversation (optionally forked from a message of another). Rule: decide-messages.ts `start`. */
@CommandHandler(StartConversationCommand)
export class StartConversationHandler implements ICommandHandler<StartConversationCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({
    conversationId,
    data,
    context,
  }: StartConversationCommand): Promise<Appended & { conversationId: string }> {
    const command: StartConversation = { type: 'StartConversation', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return { conversationId: firstEventField(outcome, 'conversationId'), ...appended(outcome) };
  }
}
