import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { IssueWarning } from '@app/conversation';
import { appended, ConversationBusCommand, COMMAND_DEPS, type Appended } from './conversation-commands';

export class IssueWarningCommand extends ConversationBusCommand<IssueWarning['data'], Appended> {}

/** A warning given by an assistant message. Rule: decide-messages.ts `issueWarning`. */
@CommandHandler(IssueWarningCommand)
export class IssueWarningHandler implements ICommandHandler<IssueWarningCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: IssueWarningCommand): Promise<Appended> {
    const command: IssueWarning = { type: 'IssueWarning', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return appended(outcome);
  }
}
