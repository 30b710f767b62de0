import {
  END_CAPABLE_MODEL,
  OTHER_MODEL,
  abusiveThread,
  assistant,
  blocked,
  endCommand,
  endRequested,
  ended,
  history,
  redirected,
  specification,
  started,
  user,
} from '../test/conversation-fixtures';
import { decide } from './decide';
import { POLICY_V1 } from './policy';
import { asReasonCode } from './reason-codes';

const spec = specification();

/** Two branches from a1: A = u2 → a2 → u3, B = u2b → a2b → u3b. a1 is shared. */
const forkedThread = () => [
  started(),
  user('u1', null),
  assistant('a1', 'u1'),
  user('u2', 'a1'),
  assistant('a2', 'u2'),
  user('u3', 'a2'),
  user('u2b', 'a1'),
  assistant('a2b', 'u2b'),
  user('u3b', 'a2b'),
];

describe(decide.name, () => {
  describe('when the model ends after enough redirections', () => {
    it('ends the lineage and records how it was decided', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand())
        .then([ended('u4')]);
    });

    it('records the evidence user messages of the lineage once each', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ evidenceMessageIds: ['u2', 'u4', 'u2'], explanation: 'insults after two redirections' }))
        .then([ended('u4', { evidenceMessageIds: ['u2', 'u4'], explanation: 'insults after two redirections' })]);
    });

    it('omits a blank explanation from the event', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ explanation: '   ' }))
        .then([ended('u4')]);
    });
  });

  describe('when there are too few redirections on the lineage', () => {
    it('blocks a harm end with one redirection', () => {
      spec
        .given(history(...abusiveThread().slice(0, -1)))
        .when(endCommand())
        .then([blocked(['INSUFFICIENT_REDIRECTION'])]);
    });

    it('does not count a redirection on another branch', () => {
      spec
        .given(history(...forkedThread(), redirected('a1'), redirected('a2')))
        .when(endCommand({ atMessageId: 'u3b' }))
        .then([blocked(['INSUFFICIENT_REDIRECTION'], { atMessageId: 'u3b' })]);
    });

    it('counts redirections before the branch point for the new branch', () => {
      spec
        .given(history(...forkedThread(), redirected('a1'), redirected('a2'), redirected('a2b')))
        .when(endCommand({ atMessageId: 'u3b' }))
        .then([ended('u3b', { redirectionCount: 2 })]);
    });

    it('follows the policy minimum', () => {
      const strict = specification({ ...POLICY_V1, version: 2, minRedirectionAttempts: 3 });
      strict
        .given(history(...abusiveThread()))
        .when(endCommand())
        .then([blocked(['INSUFFICIENT_REDIRECTION'], { policyVersion: 2 })]);
    });
  });

  describe('when the user asked to end the chat', () => {
    const thread = () => [started(), user('u1', null), assistant('a1', 'u1'), user('u2', 'a1')];

    it('lets the model end without redirections', () => {
      spec
        .given(history(...thread(), endRequested('u2')))
        .when(endCommand({ reasonCode: 'USER_REQUESTED', atMessageId: 'u2' }))
        .then([ended('u2', { reasonCode: 'USER_REQUESTED', redirectionCount: 0 })]);
    });

    it('blocks USER_REQUESTED without an end request on the lineage', () => {
      spec
        .given(history(...thread()))
        .when(endCommand({ reasonCode: 'USER_REQUESTED', atMessageId: 'u2' }))
        .then([blocked(['NO_USER_REQUEST'], { proposedReasonCode: 'USER_REQUESTED', atMessageId: 'u2' })]);
    });

    it('does not count an end request on another branch', () => {
      spec
        .given(history(...forkedThread(), endRequested('u3')))
        .when(endCommand({ reasonCode: 'USER_REQUESTED', atMessageId: 'u3b' }))
        .then([blocked(['NO_USER_REQUEST'], { proposedReasonCode: 'USER_REQUESTED', atMessageId: 'u3b' })]);
    });

    it('does not let an operator end as USER_REQUESTED', () => {
      spec
        .given(history(...thread(), endRequested('u2')))
        .when(endCommand({ initiator: 'operator', reasonCode: 'USER_REQUESTED', atMessageId: 'u2' }))
        .then([
          blocked(['REASON_NOT_ALLOWED'], {
            initiator: 'operator',
            proposedReasonCode: 'USER_REQUESTED',
            atMessageId: 'u2',
          }),
        ]);
    });
  });

  describe('when the model is outside the allowlist', () => {
    it('blocks the end of a conversation started with that model', () => {
      spec
        .given(history(started(OTHER_MODEL), ...abusiveThread().slice(1)))
        .when(endCommand())
        .then([blocked(['MODEL_NOT_END_CAPABLE'], { modelId: OTHER_MODEL })]);
    });

    it('refuses a model named by the caller that neither started the conversation nor answered on the lineage', () => {
      spec
        .given(history(started(OTHER_MODEL), ...abusiveThread().slice(1)))
        .when(endCommand({ modelId: 'claude-opus-4' }))
        .thenThrows('VALIDATION_FAILED');
    });

    it('lets an end-capable model that answered on the lineage end a conversation started with another', () => {
      spec
        .given(history(started(OTHER_MODEL), ...abusiveThread().slice(1)))
        .when(endCommand({ modelId: END_CAPABLE_MODEL }))
        .then([ended('u4')]);
    });

    it('still lets an operator end it', () => {
      spec
        .given(history(started(OTHER_MODEL), user('u1', null)))
        .when(endCommand({ initiator: 'operator', reasonCode: 'VIOLENT_EXTREMISM', atMessageId: 'u1' }))
        .then([
          ended('u1', {
            initiator: 'operator',
            reasonCode: 'VIOLENT_EXTREMISM',
            redirectionCount: 0,
            modelId: OTHER_MODEL,
            automatedDetection: false,
            automatedDecision: false,
          }),
        ]);
    });
  });

  describe('when an operator ends under policy', () => {
    const operatorEnded = (extra: Record<string, unknown>) =>
      ended('u4', { initiator: 'operator', automatedDetection: false, automatedDecision: false, ...extra });

    it('accepts OPERATOR_ACTION with an explanation', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ initiator: 'operator', reasonCode: 'OPERATOR_ACTION', explanation: 'ticket 42' }))
        .then([operatorEnded({ reasonCode: 'OPERATOR_ACTION', explanation: 'ticket 42' })]);
    });

    it('needs no redirections for a harm reason', () => {
      spec
        .given(history(...abusiveThread().slice(0, -2)))
        .when(endCommand({ initiator: 'operator', reasonCode: 'MASS_HARM_UPLIFT' }))
        .then([operatorEnded({ reasonCode: 'MASS_HARM_UPLIFT', redirectionCount: 0 })]);
    });

    it.each(['OPERATOR_ACTION', 'OTHER_POLICY'] as const)('refuses %s without an explanation', (reasonCode) => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ initiator: 'operator', reasonCode, explanation: ' \n ' }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'explanation' } });
    });
  });

  describe('when the model uses an operator-only reason', () => {
    it.each(['OPERATOR_ACTION', 'OTHER_POLICY'] as const)('blocks %s with REASON_NOT_ALLOWED', (reasonCode) => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ reasonCode, explanation: 'I decided so' }))
        .then([blocked(['REASON_NOT_ALLOWED'], { proposedReasonCode: reasonCode })]);
    });

    it('refuses it as malformed when the explanation is missing', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ reasonCode: 'OPERATOR_ACTION' }))
        .thenThrows('VALIDATION_FAILED');
    });
  });

  describe('when the end command is malformed', () => {
    it('refuses an unknown atMessageId', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ atMessageId: 'nope' }))
        .thenThrows({ code: 'UNKNOWN_MESSAGE', details: { messageId: 'nope' } });
    });

    it('refuses evidence that is not a user message of the lineage', () => {
      spec
        .given(history(...forkedThread(), redirected('a1'), redirected('a2')))
        .when(endCommand({ atMessageId: 'u3', evidenceMessageIds: ['u2', 'a2', 'u2b', 'ghost'] }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { invalidMessageIds: ['a2', 'u2b', 'ghost'] } });
    });

    it('refuses evidence below the end point', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ atMessageId: 'a2', evidenceMessageIds: ['u3'] }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { invalidMessageIds: ['u3'] } });
    });

    it.each(['self harm', '', 42])('refuses a reason code that is not a code word: %p', (reasonCode) => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ reasonCode: reasonCode as never }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'reasonCode' } });
    });

    // Which codes exist is policy data: the API refuses (400) a code no known version declares;
    // here, the version in force not declaring it is enough to block it.
    it('blocks a code word the policy in force does not declare', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ initiator: 'operator', reasonCode: asReasonCode('SELF_HARM') }))
        .then([
          blocked(['REASON_NOT_ALLOWED'], { initiator: 'operator', proposedReasonCode: asReasonCode('SELF_HARM') }),
        ]);
    });

    it('refuses an initiator other than model or operator', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand({ initiator: 'user' as never }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'initiator' } });
    });

    it('refuses an end of a conversation that was never started', () => {
      spec.given([]).when(endCommand()).thenThrows('NOT_FOUND');
    });
  });
});
