import {
  CONVERSATION_ID,
  END_CAPABLE_MODEL,
  SUBJECT_ID,
  TENANT_ID,
  abusiveThread,
  assistant,
  endRequested,
  ended,
  history,
  redirected,
  specification,
  started,
  user,
  warned,
} from '../test/conversation-fixtures';
import type { AppendMessage, IssueWarning, RecordRedirection, StartConversation } from './commands';
import { decide } from './decide';
import type { HarmCategory } from './reason-codes';

const spec = specification();

const start = (data: Partial<StartConversation['data']> = {}): StartConversation => ({
  type: 'StartConversation',
  data: {
    conversationId: CONVERSATION_ID,
    tenantId: TENANT_ID,
    subjectId: SUBJECT_ID,
    modelId: END_CAPABLE_MODEL,
    ...data,
  },
});

const append = (messageId: string, parentMessageId: string | null, data: Partial<AppendMessage['data']> = {}) =>
  ({
    type: 'AppendMessage',
    data: { messageId, parentMessageId, role: 'user', content: `user says ${messageId}`, ...data },
  }) satisfies AppendMessage;

describe(decide.name, () => {
  describe('when starting a conversation', () => {
    it('starts it', () => {
      spec.given([]).when(start()).then([started()]);
    });

    it('records the channel and where it was forked from', () => {
      const forkedFrom = { conversationId: 'conv-0', messageId: 'm-7' };
      spec
        .given([])
        .when(start({ channel: 'web', forkedFrom }))
        .then([
          {
            type: 'ConversationStarted',
            data: {
              conversationId: CONVERSATION_ID,
              tenantId: TENANT_ID,
              subjectId: SUBJECT_ID,
              modelId: END_CAPABLE_MODEL,
              channel: 'web',
              forkedFrom,
            },
          },
        ]);
    });

    it('refuses a conversation forked from itself', () => {
      spec
        .given([])
        .when(start({ forkedFrom: { conversationId: CONVERSATION_ID, messageId: 'm-1' } }))
        .thenThrows('VALIDATION_FAILED');
    });

    it('refuses a blank subject', () => {
      spec
        .given([])
        .when(start({ subjectId: ' ' }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'subjectId' } });
    });

    it('refuses to start it twice', () => {
      spec.given(history(started())).when(start()).thenThrows('CONVERSATION_EXISTS');
    });
  });

  describe('when the conversation was never started', () => {
    it.each([
      append('u1', null),
      { type: 'RecordRedirection', data: { messageId: 'a1', harmCategory: 'ABUSE_OF_ASSISTANT' } } as const,
      { type: 'IssueWarning', data: { messageId: 'a1', reasonCode: 'ABUSE_OF_ASSISTANT' } } as const,
      { type: 'RequestEnd', data: { messageId: 'u1' } } as const,
      { type: 'SubmitFeedback', data: { rating: 'up' } } as const,
      { type: 'FlagSafetyRisk', data: { flagId: 'f1', kind: 'self_harm', source: 'model' } } as const,
      { type: 'ClearSafetyRisk', data: { flagId: 'f1' } } as const,
      {
        type: 'ReviewEndDecision',
        data: { reviewId: 'r1', reviewerId: 'auditor-1', endEventId: 'evt-1', outcome: 'upheld' },
      } as const,
    ])('refuses $type with NOT_FOUND', (command) => {
      spec.given([]).when(command).thenThrows('NOT_FOUND');
    });
  });

  describe('when appending a message', () => {
    it('appends a first message as a root', () => {
      spec
        .given(history(started()))
        .when(append('u1', null))
        .then([user('u1', null)]);
    });

    it('appends an assistant reply with its model and stop reason', () => {
      spec
        .given(history(started(), user('u1', null)))
        .when(
          append('a1', 'u1', {
            role: 'assistant',
            content: 'assistant says a1',
            modelId: END_CAPABLE_MODEL,
            stopReason: 'end_turn',
          }),
        )
        .then([assistant('a1', 'u1')]);
    });

    it('appends an edit beside an earlier message as a new branch', () => {
      spec
        .given(history(...abusiveThread()))
        .when(append('u2b', 'a1'))
        .then([user('u2b', 'a1')]);
    });

    it('refuses an unknown parent message', () => {
      spec
        .given(history(started(), user('u1', null)))
        .when(append('a1', 'ghost'))
        .thenThrows({ code: 'UNKNOWN_MESSAGE', details: { messageId: 'ghost' } });
    });

    it('refuses a message id used before', () => {
      spec
        .given(history(started(), user('u1', null)))
        .when(append('u1', 'u1'))
        .thenThrows('DUPLICATE_MESSAGE');
    });

    it('refuses an unknown role', () => {
      spec
        .given(history(started()))
        .when(append('u1', null, { role: 'system' as never }))
        .thenThrows('VALIDATION_FAILED');
    });

    it('refuses an unknown stop reason', () => {
      spec
        .given(history(started(), user('u1', null)))
        .when(append('a1', 'u1', { role: 'assistant', stopReason: 'length' as never }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'stopReason' } });
    });

    it('refuses a stop reason on a user message', () => {
      spec
        .given(history(started()))
        .when(append('u1', null, { stopReason: 'end_turn' }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'stopReason' } });
    });
  });

  describe('when the lineage was ended', () => {
    const endedThread = () => history(...abusiveThread(), ended('u4'));

    it('refuses a reply to the end point', () => {
      spec
        .given(endedThread())
        .when(append('a4', 'u4', { role: 'assistant' }))
        .thenThrows({ code: 'LINEAGE_ENDED', details: { endEventId: 'evt-11', endedAtMessageId: 'u4' } });
    });

    it('refuses a reply below an end point made at an earlier message', () => {
      spec
        .given(history(...abusiveThread(), ended('a3')))
        .when(append('a4', 'u4', { role: 'assistant' }))
        .thenThrows({ code: 'LINEAGE_ENDED', details: { endEventId: 'evt-11', endedAtMessageId: 'a3' } });
    });

    it('accepts an edit whose parent is a strict ancestor of the end point', () => {
      spec
        .given(endedThread())
        .when(append('u4b', 'a3'))
        .then([user('u4b', 'a3')]);
    });

    it('accepts a new root', () => {
      spec
        .given(endedThread())
        .when(append('r2', null))
        .then([user('r2', null)]);
    });

    it('refuses a reply on a new branch once that branch is ended in its turn', () => {
      spec
        .given(history(...abusiveThread(), ended('u4'), user('u4b', 'a3'), ended('u4b')))
        .when(append('a5', 'u4b', { role: 'assistant' }))
        .thenThrows({ code: 'LINEAGE_ENDED', details: { endEventId: 'evt-13', endedAtMessageId: 'u4b' } });
    });
  });

  describe('when recording a redirection', () => {
    const redirect = (messageId: string, harmCategory = 'ABUSE_OF_ASSISTANT'): RecordRedirection => ({
      type: 'RecordRedirection',
      data: { messageId, harmCategory: harmCategory as HarmCategory },
    });

    it('records it on an assistant message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(redirect('a3'))
        .then([redirected('a3')]);
    });

    it('refuses a user message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(redirect('u3'))
        .thenThrows('VALIDATION_FAILED');
    });

    it('refuses an unknown message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(redirect('ghost'))
        .thenThrows('UNKNOWN_MESSAGE');
    });

    it('refuses a reason code that is not a harm category', () => {
      spec
        .given(history(...abusiveThread()))
        .when(redirect('a3', 'USER_REQUESTED'))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'harmCategory' } });
    });

    it('refuses a second redirection on the same message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(redirect('a2'))
        .thenThrows('ALREADY_RECORDED');
    });

    it('refuses a redirection at or below an end point', () => {
      spec
        .given(history(...abusiveThread(), ended('a2')))
        .when(redirect('a3'))
        .thenThrows('LINEAGE_ENDED');
    });
  });

  describe('when issuing a warning', () => {
    const warn = (messageId: string, reasonCode = 'HATE_OR_HARASSMENT_GENERATION'): IssueWarning => ({
      type: 'IssueWarning',
      data: { messageId, reasonCode: reasonCode as HarmCategory },
    });

    it('records it on an assistant message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(warn('a3'))
        .then([warned('a3', 'HATE_OR_HARASSMENT_GENERATION')]);
    });

    it('refuses a user message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(warn('u4'))
        .thenThrows('VALIDATION_FAILED');
    });

    it('refuses an unknown message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(warn('ghost'))
        .thenThrows('UNKNOWN_MESSAGE');
    });

    it('refuses an operator-only reason code', () => {
      spec
        .given(history(...abusiveThread()))
        .when(warn('a3', 'OTHER_POLICY'))
        .thenThrows('VALIDATION_FAILED');
    });

    it('refuses a second warning on the same message', () => {
      spec
        .given(history(...abusiveThread(), warned('a3')))
        .when(warn('a3'))
        .thenThrows('ALREADY_RECORDED');
    });

    it('refuses a warning at an end point', () => {
      spec
        .given(history(...abusiveThread(), ended('a3')))
        .when(warn('a3'))
        .thenThrows('LINEAGE_ENDED');
    });

    it('accepts a warning above an end point, where a new branch may grow', () => {
      spec
        .given(history(...abusiveThread(), ended('u4')))
        .when(warn('a3', 'ABUSE_OF_ASSISTANT'))
        .then([warned('a3')]);
    });
  });

  describe('when the user asks to end', () => {
    const request = (messageId: string) => ({ type: 'RequestEnd', data: { messageId } }) as const;

    it('records the request on the user message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(request('u4'))
        .then([endRequested('u4')]);
    });

    it('refuses an assistant message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(request('a3'))
        .thenThrows('VALIDATION_FAILED');
    });

    it('refuses an unknown message', () => {
      spec
        .given(history(...abusiveThread()))
        .when(request('ghost'))
        .thenThrows('UNKNOWN_MESSAGE');
    });

    it('refuses a second request on the same message', () => {
      spec
        .given(history(...abusiveThread(), endRequested('u4')))
        .when(request('u4'))
        .thenThrows('ALREADY_RECORDED');
    });

    it('refuses a request on an ended lineage', () => {
      spec
        .given(history(...abusiveThread(), ended('u4')))
        .when(request('u4'))
        .thenThrows('LINEAGE_ENDED');
    });
  });
});
