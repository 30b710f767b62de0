import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { RequestEnd } from '@app/conversation';
import { appended, ConversationBusCommand, COMMAND_DEPS, type Appended } from './conversation-commands';

export class RequestEndCommand extends ConversationBusCommand<RequestEnd['data'], Appended> {}

/** The user asked to end the chat. Rule: decide-messages.ts `requestEnd`. */
@CommandHandler(RequestEndCommand)
export class RequestEndHandler implements ICommandHandler<RequestEndCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: RequestEndCommand): Promise<Appended> {
    const command: RequestEnd = { type: 'RequestEnd', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return appended(outcome);
  }
}
