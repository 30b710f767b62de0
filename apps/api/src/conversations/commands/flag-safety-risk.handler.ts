import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { FlagSafetyRisk } from '@app/conversation';
import {
  appended,
  ConversationBusCommand,
  COMMAND_DEPS,
  firstEventField,
  type Appended,
} from './conversation-commands';

export class FlagSafetyRiskCommand extends ConversationBusCommand<
  FlagSafetyRisk['data'],
  Appended & { flagId: string }
> {}

/** A risk of harm: every end is blocked until it is cleared. Rule: decide-safety.ts `flagSafetyRisk`. */
@CommandHandler(FlagSafetyRiskCommand)
export class FlagSafetyRiskHandler implements ICommandHandler<FlagSafetyRiskCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: FlagSafetyRiskCommand): Promise<Appended & { flagId: string }> {
    const command: FlagSafetyRisk = { type: 'FlagSafetyRisk', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return { flagId: firstEventField(outcome, 'flagId'), ...appended(outcome) };
  }
}
