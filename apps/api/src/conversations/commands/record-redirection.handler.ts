import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { RecordRedirection } from '@app/conversation';
import { appended, ConversationBusCommand, COMMAND_DEPS, type Appended } from './conversation-commands';

export class RecordRedirectionCommand extends ConversationBusCommand<RecordRedirection['data'], Appended> {}

/** An assistant message tried to redirect the conversation. Rule: decide-messages.ts `recordRedirection`. */
@CommandHandler(RecordRedirectionCommand)
export class RecordRedirectionHandler implements ICommandHandler<RecordRedirectionCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: RecordRedirectionCommand): Promise<Appended> {
    const command: RecordRedirection = { type: 'RecordRedirection', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return appended(outcome);
  }
}
