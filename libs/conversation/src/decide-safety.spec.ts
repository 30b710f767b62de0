import { abusiveThread, cleared, ended, flagged, history, specification, started } from '../test/conversation-fixtures';
import type { ClearSafetyRisk, FlagSafetyRisk } from './commands';
import { decide } from './decide';

const spec = specification();

const flag = (flagId: string, data: Partial<FlagSafetyRisk['data']> = {}): FlagSafetyRisk => ({
  type: 'FlagSafetyRisk',
  data: { flagId, kind: 'self_harm', source: 'classifier', score: 0.91, ...data },
});
const clear = (flagId: string, note?: string): ClearSafetyRisk => ({
  type: 'ClearSafetyRisk',
  data: note === undefined ? { flagId } : { flagId, note },
});

describe(decide.name, () => {
  describe('when a safety risk is flagged', () => {
    it('records the flag', () => {
      spec
        .given(history(started()))
        .when(flag('flag-1'))
        .then([flagged('flag-1')]);
    });

    it('omits an absent score', () => {
      spec
        .given(history(started()))
        .when({ type: 'FlagSafetyRisk', data: { flagId: 'flag-1', kind: 'harm_to_others', source: 'operator' } })
        .then([{ type: 'SafetyRiskFlagged', data: { flagId: 'flag-1', kind: 'harm_to_others', source: 'operator' } }]);
    });

    it('records a flag on an ended conversation', () => {
      spec
        .given(history(...abusiveThread(), ended('u4')))
        .when(flag('flag-1'))
        .then([flagged('flag-1')]);
    });

    it('refuses a flag id used before, even once cleared', () => {
      spec
        .given(history(started(), flagged('flag-1'), cleared('flag-1')))
        .when(flag('flag-1'))
        .thenThrows({ code: 'DUPLICATE_FLAG', details: { flagId: 'flag-1' } });
    });

    it('refuses an unknown kind', () => {
      spec
        .given(history(started()))
        .when(flag('flag-1', { kind: 'spam' as never }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'kind' } });
    });

    it('refuses an unknown source', () => {
      spec
        .given(history(started()))
        .when(flag('flag-1', { source: 'user' as never }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'source' } });
    });

    it('refuses a score outside 0..1', () => {
      spec
        .given(history(started()))
        .when(flag('flag-1', { score: 1.5 }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'score' } });
    });
  });

  describe('when a safety risk is cleared', () => {
    it('clears an open flag with its note', () => {
      spec
        .given(history(started(), flagged('flag-1')))
        .when(clear('flag-1', 'false alarm, quoted lyrics'))
        .then([{ type: 'SafetyRiskCleared', data: { flagId: 'flag-1', note: 'false alarm, quoted lyrics' } }]);
    });

    it('clears an open flag without a note', () => {
      spec
        .given(history(started(), flagged('flag-1')))
        .when(clear('flag-1'))
        .then([cleared('flag-1')]);
    });

    it('refuses an unknown flag', () => {
      spec
        .given(history(started(), flagged('flag-1')))
        .when(clear('flag-2'))
        .thenThrows({ code: 'NOT_FOUND', details: { flagId: 'flag-2' } });
    });

    it('refuses a flag already cleared', () => {
      spec
        .given(history(started(), flagged('flag-1'), cleared('flag-1')))
        .when(clear('flag-1'))
        .thenThrows('FLAG_ALREADY_CLEARED');
    });
  });
});
