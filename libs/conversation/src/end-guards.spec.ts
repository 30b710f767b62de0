import {
  OTHER_MODEL,
  abusiveThread,
  assistant,
  blocked,
  cleared,
  endCommand,
  endRequested,
  ended,
  flagged,
  history,
  specification,
  stateOf,
  started,
  user,
  warned,
} from '../test/conversation-fixtures';
import { decide } from './decide';
import { GUARD_CODES } from './guard-codes';
import { evaluateEndGuards, toEndCommandData } from './guards';
import { POLICY_V1 } from './policy';

const spec = specification();
const warningPolicy = { ...POLICY_V1, version: 2, requireWarning: true };
const withWarnings = specification(warningPolicy);

describe(decide.name, () => {
  describe('when a safety risk is open', () => {
    it('blocks the model end', () => {
      spec
        .given(history(...abusiveThread(), flagged('flag-1')))
        .when(endCommand())
        .then([blocked(['SAFETY_RISK_OPEN'])]);
    });

    it('blocks an operator end', () => {
      spec
        .given(history(...abusiveThread(), flagged('flag-1', 'harm_to_others')))
        .when(endCommand({ initiator: 'operator', reasonCode: 'OPERATOR_ACTION', explanation: 'ticket 7' }))
        .then([blocked(['SAFETY_RISK_OPEN'], { initiator: 'operator', proposedReasonCode: 'OPERATOR_ACTION' })]);
    });

    it('blocks an end the user asked for', () => {
      spec
        .given(history(...abusiveThread(), endRequested('u4'), flagged('flag-1')))
        .when(endCommand({ reasonCode: 'USER_REQUESTED' }))
        .then([blocked(['SAFETY_RISK_OPEN'], { proposedReasonCode: 'USER_REQUESTED' })]);
    });

    it('still blocks after clearing one of two open flags', () => {
      spec
        .given(history(...abusiveThread(), flagged('flag-1'), flagged('flag-2'), cleared('flag-1')))
        .when(endCommand())
        .then([blocked(['SAFETY_RISK_OPEN'])]);
    });

    it('allows the end once every flag is cleared', () => {
      spec
        .given(history(...abusiveThread(), flagged('flag-1'), flagged('flag-2'), cleared('flag-2'), cleared('flag-1')))
        .when(endCommand())
        .then([ended('u4')]);
    });
  });

  describe('when the lineage is already ended', () => {
    it('blocks a second end at the same message', () => {
      spec
        .given(history(...abusiveThread(), ended('u4')))
        .when(endCommand())
        .then([blocked(['LINEAGE_ALREADY_ENDED'])]);
    });

    it('blocks an end below an earlier end point', () => {
      spec
        .given(history(...abusiveThread(), ended('a3')))
        .when(endCommand())
        .then([blocked(['LINEAGE_ALREADY_ENDED'])]);
    });

    it('ends a new branch edited from before the end point on its own', () => {
      spec
        .given(history(...abusiveThread(), ended('u4'), user('u4b', 'a3')))
        .when(endCommand({ atMessageId: 'u4b' }))
        .then([ended('u4b')]);
    });
  });

  describe('when requireWarning is on', () => {
    it('blocks a harm end with no warning on the lineage', () => {
      withWarnings
        .given(history(...abusiveThread()))
        .when(endCommand())
        .then([blocked(['NO_PRIOR_WARNING'], { policyVersion: 2 })]);
    });

    it('blocks when no user message followed the warning', () => {
      withWarnings
        .given(history(...abusiveThread(), warned('a3')))
        .when(endCommand({ atMessageId: 'a3' }))
        .then([blocked(['NO_PRIOR_WARNING'], { policyVersion: 2, atMessageId: 'a3' })]);
    });

    it('does not count a warning on another branch', () => {
      withWarnings
        .given(history(...abusiveThread(), user('u3b', 'a2'), assistant('a3b', 'u3b'), warned('a3b')))
        .when(endCommand())
        .then([blocked(['NO_PRIOR_WARNING'], { policyVersion: 2 })]);
    });

    it('ends once a warning was followed by a user message', () => {
      withWarnings
        .given(history(...abusiveThread(), warned('a3')))
        .when(endCommand())
        .then([ended('u4', { policyVersion: 2 })]);
    });

    it('owes no warning for an end the user asked for', () => {
      withWarnings
        .given(history(...abusiveThread(), endRequested('u4')))
        .when(endCommand({ reasonCode: 'USER_REQUESTED' }))
        .then([ended('u4', { reasonCode: 'USER_REQUESTED', policyVersion: 2 })]);
    });
  });

  describe('when requireWarning is off', () => {
    it('ends without any warning', () => {
      spec
        .given(history(...abusiveThread()))
        .when(endCommand())
        .then([ended('u4')]);
    });
  });

  describe('when several guards fail', () => {
    it('reports every failure in DOMAIN order', () => {
      withWarnings
        .given(
          history(started(OTHER_MODEL), user('u1', null), flagged('flag-1'), ended('u1', { initiator: 'operator' })),
        )
        .when(endCommand({ reasonCode: 'OTHER_POLICY', explanation: 'tired of this', atMessageId: 'u1' }))
        .then([
          blocked(
            [
              'SAFETY_RISK_OPEN',
              'LINEAGE_ALREADY_ENDED',
              'REASON_NOT_ALLOWED',
              'MODEL_NOT_END_CAPABLE',
              'INSUFFICIENT_REDIRECTION',
              'NO_PRIOR_WARNING',
            ],
            { proposedReasonCode: 'OTHER_POLICY', atMessageId: 'u1', policyVersion: 2, modelId: OTHER_MODEL },
          ),
        ]);
    });

    it('reports a wrong initiator and a missing request together', () => {
      spec
        .given(history(...abusiveThread(), flagged('flag-1')))
        .when(endCommand({ initiator: 'operator', reasonCode: 'USER_REQUESTED' }))
        .then([
          blocked(['SAFETY_RISK_OPEN', 'REASON_NOT_ALLOWED', 'NO_USER_REQUEST'], {
            initiator: 'operator',
            proposedReasonCode: 'USER_REQUESTED',
          }),
        ]);
    });
  });
});

describe(evaluateEndGuards.name, () => {
  it('lists the guards in DOMAIN order', () => {
    expect(GUARD_CODES).toEqual([
      'SAFETY_RISK_OPEN',
      'LINEAGE_ALREADY_ENDED',
      'REASON_NOT_ALLOWED',
      'MODEL_NOT_END_CAPABLE',
      'INSUFFICIENT_REDIRECTION',
      'NO_USER_REQUEST',
      'NO_PRIOR_WARNING',
    ]);
  });

  describe('when re-checking a stored end against its own policy', () => {
    const before = abusiveThread();

    it('passes an end that followed the rules', () => {
      const end = ended('u4');
      expect(evaluateEndGuards(stateOf(...before), toEndCommandData(end.data), POLICY_V1)).toEqual([]);
    });

    it('names the broken guards of an end that did not', () => {
      const end = ended('u2', { redirectionCount: 1 });
      expect(evaluateEndGuards(stateOf(...before), toEndCommandData(end.data), POLICY_V1)).toEqual([
        'INSUFFICIENT_REDIRECTION',
      ]);
    });

    it('judges by the version given, not the current one', () => {
      const end = ended('u4');
      expect(evaluateEndGuards(stateOf(...before), toEndCommandData(end.data), warningPolicy)).toEqual([
        'NO_PRIOR_WARNING',
      ]);
    });
  });
});
