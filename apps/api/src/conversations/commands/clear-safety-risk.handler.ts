import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConversationCommandDeps, handleConversationCommand } from '@app/application';
import type { ClearSafetyRisk } from '@app/conversation';
import {
  appended,
  ConversationBusCommand,
  COMMAND_DEPS,
  firstEventField,
  type Appended,
} from './conversation-commands';

export class ClearSafetyRiskCommand extends ConversationBusCommand<
  ClearSafetyRisk['data'],
  Appended & { flagId: string }
> {}

/** A risk flag cleared. Rule: decide-safety.ts `clearSafetyRisk`. */
@CommandHandler(ClearSafetyRiskCommand)
export class ClearSafetyRiskHandler implements ICommandHandler<ClearSafetyRiskCommand> {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  async execute({ conversationId, data, context }: ClearSafetyRiskCommand): Promise<Appended & { flagId: string }> {
    const command: ClearSafetyRisk = { type: 'ClearSafetyRisk', data };
    const outcome = await handleConversationCommand(this.deps, { conversationId, command, context });
    return { flagId: firstEventField(outcome, 'flagId'), ...appended(outcome) };
  }
}
