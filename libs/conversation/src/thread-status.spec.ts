import {
  abusiveThread,
  assistant,
  at,
  cleared,
  ended,
  flagged,
  reviewed,
  stateOf,
  started,
  user,
} from '../test/conversation-fixtures';
import { toThreadStatus } from './thread-status';
import { initialState } from './state';

describe(toThreadStatus.name, () => {
  describe('when the conversation was never started', () => {
    it('refuses with NOT_FOUND', () => {
      expect(() => toThreadStatus(initialState())).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    });
  });

  describe('when nothing was said yet', () => {
    it('is active with no leaf', () => {
      expect(toThreadStatus(stateOf(started()))).toEqual({
        conversationId: 'conv-1',
        tenantId: 'tenant-a',
        status: 'active',
        activeLeafMessageId: null,
        messageCount: 0,
        branchCount: 0,
        redirectionCount: 0,
        openRiskFlags: 0,
        ends: [],
        lastEventAt: at(1),
        version: 1,
      });
    });
  });

  describe('when the active lineage is ended', () => {
    it('is ended and lists the end', () => {
      expect(toThreadStatus(stateOf(...abusiveThread(), ended('u4')))).toEqual({
        conversationId: 'conv-1',
        tenantId: 'tenant-a',
        status: 'ended',
        activeLeafMessageId: 'u4',
        messageCount: 7,
        branchCount: 1,
        redirectionCount: 2,
        openRiskFlags: 0,
        ends: [
          {
            endEventId: 'evt-11',
            reasonCode: 'ABUSE_OF_ASSISTANT',
            initiator: 'model',
            endedAt: at(11),
            endedAtMessageId: 'u4',
            reviewOutcome: null,
          },
        ],
        lastEventAt: at(11),
        version: 11,
      });
    });
  });

  describe('when the user edited an earlier message after the end', () => {
    const events = [...abusiveThread(), ended('u4'), user('u4b', 'a3')];

    it('is active on the new branch, counting the redirections above the branch point', () => {
      expect(toThreadStatus(stateOf(...events))).toMatchObject({
        status: 'active',
        activeLeafMessageId: 'u4b',
        messageCount: 8,
        branchCount: 2,
        redirectionCount: 2,
      });
    });

    it('counts only the redirections of the active lineage', () => {
      expect(toThreadStatus(stateOf(...events, assistant('a1b', 'u1')))).toMatchObject({
        branchCount: 3,
        redirectionCount: 0,
      });
    });
  });

  describe('when the new branch was ended too and the ends reviewed', () => {
    const state = stateOf(
      ...abusiveThread(),
      ended('u4'),
      user('u4b', 'a3'),
      ended('u4b', { initiator: 'operator', reasonCode: 'OPERATOR_ACTION', explanation: 'ticket 9' }),
      reviewed('evt-11', 'upheld', 'r1'),
      reviewed('evt-11', 'overturned', 'r2', { errorType: 'false_positive' }),
      reviewed('evt-13', 'upheld', 'r3'),
    );

    it('lists both ends in order with their latest review outcome', () => {
      const status = toThreadStatus(state);
      expect(status.status).toBe('ended');
      expect(status.ends).toEqual([
        expect.objectContaining({ endEventId: 'evt-11', endedAtMessageId: 'u4', reviewOutcome: 'overturned' }),
        expect.objectContaining({
          endEventId: 'evt-13',
          endedAtMessageId: 'u4b',
          initiator: 'operator',
          reasonCode: 'OPERATOR_ACTION',
          endedAt: at(13),
          reviewOutcome: 'upheld',
        }),
      ]);
      expect(status.version).toBe(16);
    });
  });

  describe('when risk flags are open', () => {
    it('counts only those not cleared', () => {
      const state = stateOf(started(), flagged('f1'), flagged('f2'), flagged('f3'), cleared('f2'));
      expect(toThreadStatus(state).openRiskFlags).toBe(2);
    });
  });
});
