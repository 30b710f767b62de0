import { codeRule } from '../test/conversation-fixtures';
import { POLICY_V1 } from './policy';
import { POLICY_FIELD_DEFAULTS, samePolicy, upcastPolicy } from './policy-upcast';
import { V1_REASON_CODE_RULES } from './reason-codes';

/** Version 1 as an earlier release stored it (the stored content, not the built-in copy): no reason codes. */
const storedV1 = {
  version: 1,
  endCapableModels: ['claude-opus-4', 'claude-opus-4-1'],
  minRedirectionAttempts: 2,
  requireWarning: false,
};

describe(upcastPolicy.name, () => {
  it('reads a stored version with every field as stored', () => {
    expect(upcastPolicy({ ...storedV1, minRedirectionAttempts: 3 })).toEqual({
      ...POLICY_V1,
      minRedirectionAttempts: 3,
    });
  });

  it(
    'keeps the code and the stored version 1 the same rules ' +
      '(every field added later has an old-behaviour default)',
    () => {
      expect(samePolicy(upcastPolicy(storedV1), POLICY_V1)).toBe(true);
    },
  );

  describe('when a version was stored before reason codes were policy data', () => {
    it('reads a stored version 1 without a table with the table of DOMAIN.md version 1', () => {
      expect(upcastPolicy(storedV1).reasonCodes).toEqual(V1_REASON_CODE_RULES);
    });

    it('reads any other version stored without a table with version 1’s too: it was decided under it', () => {
      const storedV2 = { ...storedV1, version: 2, minRedirectionAttempts: 1 };
      expect(upcastPolicy(storedV2)).toEqual({ ...storedV2, reasonCodes: V1_REASON_CODE_RULES });
    });

    it('keeps a stored table over the default', () => {
      const withTable = { ...storedV1, version: 2, reasonCodes: [codeRule('SPAM_FLOOD')] };
      expect(upcastPolicy(withTable).reasonCodes).toEqual([codeRule('SPAM_FLOOD')]);
    });
  });

  it('reads a version back as the same policy whatever order the store gave its keys (jsonb sorts them)', () => {
    const keys = [...Object.keys(POLICY_V1), 'code', 'meaning', 'initiators', 'explanationRequired'].reverse();
    const reordered = JSON.parse(JSON.stringify(POLICY_V1, keys));
    expect(Object.keys(reordered)).not.toEqual(Object.keys(POLICY_V1));
    expect(samePolicy(upcastPolicy(reordered), POLICY_V1)).toBe(true);
  });

  it('defaults only fields that Policy knows', () => {
    const known = Object.keys(POLICY_V1);
    expect(Object.keys(POLICY_FIELD_DEFAULTS).filter((f) => !known.includes(f))).toEqual([]);
  });

  describe('when a field was added after a version was stored', () => {
    // requireWarning plays a field the code learnt later: a version stored before it behaved
    // without warnings, so its default must say so whatever new versions choose.
    const defaults = { ...POLICY_FIELD_DEFAULTS, requireWarning: false };
    const storedBefore = { version: 2, endCapableModels: ['m-1'], minRedirectionAttempts: 1 };

    it('gives the stored version the value it behaved with', () => {
      const expected = { ...storedBefore, requireWarning: false, reasonCodes: V1_REASON_CODE_RULES };
      expect(upcastPolicy(storedBefore, defaults)).toEqual(expected);
    });

    it('keeps a value the stored version has over the default', () => {
      expect(upcastPolicy({ ...storedBefore, requireWarning: true }, defaults).requireWarning).toBe(true);
    });

    it('refuses a missing field that has no default, naming it', () => {
      expect(() => upcastPolicy(storedBefore, {})).toThrow('"requireWarning"');
    });
  });

  it('refuses a stored field the code does not know: its rules cannot be re-checked', () => {
    expect(() => upcastPolicy({ ...storedV1, requireEvidence: true })).toThrow('unknown field "requireEvidence"');
  });

  it.each([null, [], 'policy'])('refuses %p', (stored) => {
    expect(() => upcastPolicy(stored)).toThrow('expected a JSON object');
  });
});

describe(samePolicy.name, () => {
  it('tells a changed rule apart', () => {
    expect(samePolicy(POLICY_V1, upcastPolicy({ ...storedV1, endCapableModels: ['claude-opus-4'] }))).toBe(false);
    expect(samePolicy(POLICY_V1, upcastPolicy({ ...storedV1, requireWarning: true }))).toBe(false);
  });
});
