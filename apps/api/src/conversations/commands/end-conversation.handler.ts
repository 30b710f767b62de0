import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { EndAttemptBlocked, EndConversation } from '@app/conversation';
import { appended, ConversationBusCommand, COMMAND_DEPS, type Appended } from './conversation-commands';

/** Ended (ConversationEnded), or blocked by guards and the attempt recorded (EndAttemptBlocked). */
export type EndResult = Appended &
  (
    | { endEventId: string }
    | { blocked: { blockedEventId: string; failedGuards: EndAttemptBlocked['data']['failedGuards'] } }
  );

export class EndConversationCommand extends ConversationBusCommand<EndConversation['data'], EndResult> {}

/** Ends the lineage at a message under the policy's guards. Rule: decide-end.ts `endConversation`. */
@CommandHandler(EndConversationCommand)
export class EndConversationHandler implements ICommandHandler<EndConversationCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: EndConversationCommand): Promise<EndResult> {
    const command: EndConversation = { type: 'EndConversation', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    const [event] = outcome.events;
    if (event.type !== 'EndAttemptBlocked') return { endEventId: event.eventId, ...appended(outcome) };
    const { failedGuards } = event.data as EndAttemptBlocked['data'];
    return { blocked: { blockedEventId: event.eventId, failedGuards }, ...appended(outcome) };
  }
}
