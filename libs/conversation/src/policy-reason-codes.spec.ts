import {
  abusiveThread,
  blocked,
  codeRule,
  endCommand,
  ended,
  history,
  policyVersion,
  specification,
  stateOf,
} from '../test/conversation-fixtures';
import type { ConversationEnded } from './events';
import { evaluateEndGuards, toEndCommandData } from './guards';
import { POLICY_V1 } from './policy';
import { asReasonCode } from './reason-codes';

const SPAM_FLOOD = asReasonCode('SPAM_FLOOD');
/** Version 2 adds SPAM_FLOOD (model and operator) and a COURT_ORDER that needs an explanation. */
const adding = policyVersion(2, (v1) => [...v1, codeRule('SPAM_FLOOD'), codeRule('COURT_ORDER', ['operator'], true)]);
/** Version 2 drops OTHER_POLICY and USER_REQUESTED. */
const removing = policyVersion(2, (v1) =>
  v1.filter((rule) => !['OTHER_POLICY', 'USER_REQUESTED'].includes((rule as { code: string }).code)),
);
const operatorEnd = (reasonCode: string, explanation?: string) =>
  endCommand({ initiator: 'operator', reasonCode: asReasonCode(reasonCode), ...(explanation && { explanation }) });
const operatorEnded = (overrides: Partial<ConversationEnded['data']>) =>
  ended('u4', { initiator: 'operator', automatedDetection: false, automatedDecision: false, ...overrides });

/** DOMAIN.md: the reason codes and who may use each are part of the versioned policy. */
describe('Reason codes of a policy version', () => {
  describe('when version 2 adds a code', () => {
    it('accepts a model end with it, recording version 2', () => {
      specification(adding)
        .given(history(...abusiveThread()))
        .when(endCommand({ reasonCode: SPAM_FLOOD }))
        .then([ended('u4', { reasonCode: SPAM_FLOOD, policyVersion: 2 })]);
    });

    it('blocks the same end under version 1, which does not know the code', () => {
      specification()
        .given(history(...abusiveThread()))
        .when(endCommand({ reasonCode: SPAM_FLOOD }))
        .then([blocked(['REASON_NOT_ALLOWED'], { proposedReasonCode: SPAM_FLOOD })]);
    });

    it('keeps the new code to the initiators it names', () => {
      specification(adding)
        .given(history(...abusiveThread()))
        .when(endCommand({ reasonCode: asReasonCode('COURT_ORDER'), explanation: 'case 12' }))
        .then([blocked(['REASON_NOT_ALLOWED'], { proposedReasonCode: asReasonCode('COURT_ORDER'), policyVersion: 2 })]);
    });

    it('refuses it as malformed without the explanation it requires', () => {
      specification(adding)
        .given(history(...abusiveThread()))
        .when(operatorEnd('COURT_ORDER'))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'explanation' } });
    });
  });

  describe('when version 2 removes a code', () => {
    it('blocks an operator end with it (REASON_NOT_ALLOWED), even with the explanation version 1 wanted', () => {
      specification(removing)
        .given(history(...abusiveThread()))
        .when(operatorEnd('OTHER_POLICY', 'tired of this'))
        .then([
          blocked(['REASON_NOT_ALLOWED'], {
            initiator: 'operator',
            proposedReasonCode: 'OTHER_POLICY',
            policyVersion: 2,
          }),
        ]);
    });

    it('blocks a model end with a removed code; the guards bound to the code still apply', () => {
      specification(removing)
        .given(history(...abusiveThread()))
        .when(endCommand({ reasonCode: 'USER_REQUESTED' }))
        .then([
          blocked(['REASON_NOT_ALLOWED', 'NO_USER_REQUEST'], {
            proposedReasonCode: 'USER_REQUESTED',
            policyVersion: 2,
          }),
        ]);
    });

    it('keeps every code it still declares', () => {
      specification(removing)
        .given(history(...abusiveThread()))
        .when(operatorEnd('OPERATOR_ACTION', 'ticket 42'))
        .then([operatorEnded({ reasonCode: 'OPERATOR_ACTION', explanation: 'ticket 42', policyVersion: 2 })]);
    });
  });

  describe('when an end is re-checked against its own version (compliance)', () => {
    // The operator ended with OTHER_POLICY under version 1; version 2 dropped the code since.
    const before = stateOf(...abusiveThread());
    const endV1 = toEndCommandData(
      operatorEnded({ reasonCode: 'OTHER_POLICY', explanation: 'spam bot', policyVersion: 1 }).data,
    );

    it('keeps a version 1 end with a code version 2 removed compliant', () => {
      expect(evaluateEndGuards(before, endV1, POLICY_V1)).toEqual([]);
    });

    it('would find it against version 2: the version it is judged by matters', () => {
      expect(evaluateEndGuards(before, endV1, removing)).toEqual(['REASON_NOT_ALLOWED']);
    });

    it('finds a version 1 end with a code only version 2 declares', () => {
      const end = toEndCommandData(ended('u4', { reasonCode: SPAM_FLOOD }).data);
      expect([evaluateEndGuards(before, end, POLICY_V1), evaluateEndGuards(before, end, adding)]).toEqual([
        ['REASON_NOT_ALLOWED'],
        [],
      ]);
    });
  });
});
