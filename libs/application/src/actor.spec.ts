import { type ConversationCommand, type ConversationState, initialState } from '@app/conversation';
import { actorOf } from './actor';
import type { Caller } from './command-context';

const state: ConversationState = {
  ...initialState(),
  exists: true,
  subjectId: 'subject-1',
  modelId: 'claude-opus-4-1',
};
const writer: Caller = { keyId: 'key-w', role: 'writer', tenantId: 't', holder: null };
const operator: Caller = { ...writer, keyId: 'key-o', role: 'operator' };
const auditor: Caller = { ...writer, keyId: 'key-a', role: 'auditor' };
const say = (role: 'user' | 'assistant', modelId?: string): ConversationCommand => ({
  type: 'AppendMessage',
  data: { messageId: 'm', parentMessageId: null, role, content: '', ...(modelId && { modelId }) },
});
const end = (initiator: 'model' | 'operator', modelId?: string): ConversationCommand => ({
  type: 'EndConversation',
  data: { initiator, reasonCode: 'OPERATOR_ACTION', atMessageId: 'm', ...(modelId && { modelId }) },
});
const flag = (source: 'classifier' | 'model' | 'operator'): ConversationCommand => ({
  type: 'FlagSafetyRisk',
  data: { flagId: 'f', kind: 'self_harm', source },
});

describe(actorOf.name, () => {
  it.each<[string, ConversationCommand, Caller, { type: string; id: string }]>([
    [
      'a start: the subject it names',
      { type: 'StartConversation', data: { conversationId: 'c', tenantId: 't', subjectId: 'subject-9', modelId: 'm' } },
      writer,
      { type: 'user', id: 'subject-9' },
    ],
    ["a user's message: the subject", say('user'), operator, { type: 'user', id: 'subject-1' }],
    [
      "an assistant's message: the conversation's model",
      say('assistant'),
      writer,
      { type: 'model', id: 'claude-opus-4-1' },
    ],
    [
      "an assistant's message naming a model: that model",
      say('assistant', 'claude-haiku-3-5'),
      writer,
      { type: 'model', id: 'claude-haiku-3-5' },
    ],
    [
      'a redirection: the model',
      { type: 'RecordRedirection', data: { messageId: 'm', harmCategory: 'ABUSE_OF_ASSISTANT' } },
      writer,
      { type: 'model', id: 'claude-opus-4-1' },
    ],
    [
      'a warning: the model',
      { type: 'IssueWarning', data: { messageId: 'm', reasonCode: 'ABUSE_OF_ASSISTANT' } },
      writer,
      { type: 'model', id: 'claude-opus-4-1' },
    ],
    [
      'an end request: the subject',
      { type: 'RequestEnd', data: { messageId: 'm' } },
      writer,
      { type: 'user', id: 'subject-1' },
    ],
    [
      'feedback: the subject',
      { type: 'SubmitFeedback', data: { rating: 'up' } },
      writer,
      { type: 'user', id: 'subject-1' },
    ],
    ["a model's end: the model", end('model'), writer, { type: 'model', id: 'claude-opus-4-1' }],
    [
      "a model's end naming a model: that model",
      end('model', 'claude-opus-4'),
      writer,
      { type: 'model', id: 'claude-opus-4' },
    ],
    ["an operator's end: the key", end('operator'), operator, { type: 'operator', id: 'key-o' }],
    ["a classifier's flag: the classifier", flag('classifier'), operator, { type: 'system', id: 'classifier' }],
    ["a model's flag: the model", flag('model'), operator, { type: 'model', id: 'claude-opus-4-1' }],
    ["an operator's flag: the key", flag('operator'), operator, { type: 'operator', id: 'key-o' }],
    [
      'a clearance: the key',
      { type: 'ClearSafetyRisk', data: { flagId: 'f' } },
      operator,
      { type: 'operator', id: 'key-o' },
    ],
    [
      "a review: the auditor's key",
      { type: 'ReviewEndDecision', data: { reviewId: 'r', reviewerId: 'key-a', endEventId: 'e', outcome: 'upheld' } },
      auditor,
      { type: 'auditor', id: 'key-a' },
    ],
    [
      "a review by an admin key: an operator's",
      { type: 'ReviewEndDecision', data: { reviewId: 'r', reviewerId: 'k', endEventId: 'e', outcome: 'upheld' } },
      { ...writer, keyId: 'k', role: 'admin' },
      { type: 'operator', id: 'k' },
    ],
  ])('names %s', (_what, command, caller, expected) => {
    expect(actorOf(command, state, caller)).toEqual(expected);
  });
});
