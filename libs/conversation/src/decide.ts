import type { ConversationCommand } from './commands';
import { endConversation } from './decide-end';
import { appendMessage, issueWarning, recordRedirection, requestEnd, start } from './decide-messages';
import { reviewEndDecision, submitFeedback } from './decide-review';
import { clearSafetyRisk, flagSafetyRisk } from './decide-safety';
import type { DomainEvent } from './events';
import type { Policy } from './policy';
import type { ConversationState } from './state';

/**
 * The conversation's rules: the events a command appends, or a ConversationError (nothing
 * appended). Pure: ids and times come from the command and the recorded events.
 */
export const decide = (command: ConversationCommand, state: ConversationState, policy: Policy): DomainEvent[] => {
  switch (command.type) {
    case 'StartConversation':
      return start(command, state);
    case 'AppendMessage':
      return appendMessage(command, state);
    case 'RecordRedirection':
      return recordRedirection(command, state);
    case 'IssueWarning':
      return issueWarning(command, state);
    case 'RequestEnd':
      return requestEnd(command, state);
    case 'EndConversation':
      return endConversation(command, state, policy);
    case 'SubmitFeedback':
      return submitFeedback(command, state);
    case 'FlagSafetyRisk':
      return flagSafetyRisk(command, state);
    case 'ClearSafetyRisk':
      return clearSafetyRisk(command, state);
    case 'ReviewEndDecision':
      return reviewEndDecision(command, state);
    default: {
      const unknownCommand: never = command;
      throw new Error(`Unknown conversation command: ${(unknownCommand as { type: string }).type}`);
    }
  }
};
