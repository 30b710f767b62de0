import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { AppendMessage } from '@app/conversation';
import {
  appended,
  ConversationBusCommand,
  COMMAND_DEPS,
  firstEventField,
  type Appended,
} from './conversation-commands';

export class AppendMessageCommand extends ConversationBusCommand<
  AppendMessage['data'],
  Appended & { messageId: string }
> {}

/** A message on a lineage; a parent above an end starts a new branch. Rule: decide-messages.ts `appendMessage`. */
@CommandHandler(AppendMessageCommand)
export class AppendMessageHandler implements ICommandHandler<AppendMessageCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: AppendMessageCommand): Promise<Appended & { messageId: string }> {
    const command: AppendMessage = { type: 'AppendMessage', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return { messageId: firstEventField(outcome, 'messageId'), ...appended(outcome) };
  }
}
