import type { ConversationCommand, ConversationState } from '@app/conversation';
import type { Caller } from './command-context';

export interface Actor {
  type: 'user' | 'model' | 'operator' | 'auditor' | 'system';
  id: string;
}

/** Who caused an event: the person, the model, or the staff member behind the API key. */
export function actorOf(command: ConversationCommand, state: ConversationState, caller: Caller): Actor {
  const user: Actor = {
    type: 'user',
    id: command.type === 'StartConversation' ? command.data.subjectId : state.subjectId,
  };
  const model: Actor = { type: 'model', id: state.modelId };
  const staff: Actor = { type: caller.role === 'auditor' ? 'auditor' : 'operator', id: caller.keyId };
  switch (command.type) {
    case 'StartConversation':
    case 'RequestEnd':
    case 'SubmitFeedback':
      return user;
    case 'AppendMessage':
      return command.data.role === 'user' ? user : { type: 'model', id: command.data.modelId ?? model.id };
    case 'RecordRedirection':
    case 'IssueWarning':
      return model;
    case 'EndConversation':
      return command.data.initiator === 'model' ? { type: 'model', id: command.data.modelId ?? model.id } : staff;
    case 'FlagSafetyRisk':
      if (command.data.source === 'classifier') return { type: 'system', id: 'classifier' };
      return command.data.source === 'model' ? model : staff;
    case 'ClearSafetyRisk':
    case 'ReviewEndDecision':
      return staff;
    default: {
      const unknown: never = command;
      throw new Error(`no actor for ${(unknown as { type: string }).type}`);
    }
  }
}
