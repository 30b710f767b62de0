import { parsePolicy, POLICY_V1, V1_REASON_CODE_RULES, V1_REASON_CODES } from '@app/conversation';
import { loadPolicies, PolicyBook } from './policies';

const { reasonCodes: _table, ...fileWithoutCodes } = JSON.parse(JSON.stringify({ ...POLICY_V1, version: 2 }));
const spamFlood = { code: 'SPAM_FLOOD', meaning: 'floods', initiators: ['operator'], explanationRequired: false };

describe(loadPolicies.name, () => {
  it('decides under version 1 without a POLICY_FILE', () => {
    expect(loadPolicies(undefined).current).toBe(POLICY_V1);
  });

  it('reads a POLICY_FILE without reasonCodes with version 1’s table, as it meant before', () => {
    expect(loadPolicies(fileWithoutCodes).current).toEqual({ ...fileWithoutCodes, reasonCodes: V1_REASON_CODE_RULES });
  });

  it('refuses a table row with a misspelt field, naming POLICY_FILE and the field', () => {
    const file = { ...fileWithoutCodes, reasonCodes: [{ ...spamFlood, initiator: ['model'] }] };
    expect(() => loadPolicies(file)).toThrow(/POLICY_FILE .*"reasonCodes\[0\]\.initiator"/);
  });

  it('refuses version 1 with another table: version 1 is built in and fixed', () => {
    expect(() => loadPolicies({ ...fileWithoutCodes, version: 1, reasonCodes: [spamFlood] })).toThrow(
      /new version number/,
    );
  });
});

describe(PolicyBook.name, () => {
  const v2 = parsePolicy({ ...fileWithoutCodes, reasonCodes: [spamFlood] });

  it('knows the codes of the versions it decides under and of the other stored ones', () => {
    const book = new PolicyBook([POLICY_V1], undefined, [v2]);
    expect(book.current).toBe(POLICY_V1);
    expect(book.reasonCodes).toEqual([...V1_REASON_CODES, 'SPAM_FLOOD']);
    expect(['SPAM_FLOOD', 'OTHER_POLICY', 'RUDENESS', 42].map((code) => book.knowsReasonCode(code))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('keeps the codes of a version it no longer decides under known', () => {
    expect(new PolicyBook([POLICY_V1, v2], 2).knowsReasonCode('OTHER_POLICY')).toBe(true);
  });
});
