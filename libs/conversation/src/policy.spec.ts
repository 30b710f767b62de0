import { codeRule } from '../test/conversation-fixtures';
import { POLICY_V1, parsePolicy } from './policy';
import { V1_REASON_CODE_RULES } from './reason-codes';

const valid = {
  version: 3,
  endCapableModels: ['claude-opus-4-1'],
  minRedirectionAttempts: 3,
  requireWarning: true,
  reasonCodes: [codeRule('SPAM_FLOOD'), codeRule('OTHER_POLICY', ['operator'], true)],
};
const withRow = (row: object) => ({ ...valid, reasonCodes: [row] });

describe(parsePolicy.name, () => {
  it('holds DOMAIN.md version 1', () => {
    expect(POLICY_V1).toEqual({
      version: 1,
      endCapableModels: ['claude-opus-4', 'claude-opus-4-1'],
      minRedirectionAttempts: 2,
      requireWarning: false,
      reasonCodes: V1_REASON_CODE_RULES,
    });
  });

  it('accepts a valid policy', () => {
    expect(parsePolicy(JSON.parse(JSON.stringify(valid)))).toEqual(valid);
  });

  it('accepts version 1 as written', () => {
    expect(parsePolicy(JSON.parse(JSON.stringify(POLICY_V1)))).toEqual(POLICY_V1);
  });

  it('keeps the reason codes in the order declared, each row with its fields in one order', () => {
    const { reasonCodes } = parsePolicy({
      ...valid,
      reasonCodes: [{ explanationRequired: false, initiators: ['model'], meaning: 'm', code: 'B' }, codeRule('A')],
    });
    expect(reasonCodes.map((rule) => Object.keys(rule))).toEqual([
      ['code', 'meaning', 'initiators', 'explanationRequired'],
      ['code', 'meaning', 'initiators', 'explanationRequired'],
    ]);
    expect(reasonCodes.map((rule) => rule.code)).toEqual(['B', 'A']);
  });

  it.each([null, [], 'policy', 42])('rejects %p as not an object', (input) => {
    expect(() => parsePolicy(input)).toThrow('expected a JSON object');
  });

  it.each([
    ['version', { ...valid, version: 0 }],
    ['version', { ...valid, version: 1.5 }],
    ['version', { ...valid, version: '1' }],
    ['version', { endCapableModels: [], minRedirectionAttempts: 2, requireWarning: false }],
    ['endCapableModels', { ...valid, endCapableModels: 'claude-opus-4' }],
    ['endCapableModels', { ...valid, endCapableModels: ['claude-opus-4', ''] }],
    ['endCapableModels', { ...valid, endCapableModels: [4] }],
    ['minRedirectionAttempts', { ...valid, minRedirectionAttempts: -1 }],
    ['minRedirectionAttempts', { ...valid, minRedirectionAttempts: '2' }],
    ['requireWarning', { ...valid, requireWarning: 'false' }],
    ['requireWarnings', { ...valid, requireWarnings: true }],
    ['reasonCodes', { ...valid, reasonCodes: undefined }],
    ['reasonCodes', { ...valid, reasonCodes: [] }],
    ['reasonCodes', { ...valid, reasonCodes: { SPAM_FLOOD: codeRule('SPAM_FLOOD') } }],
    ['reasonCodes[0]', { ...valid, reasonCodes: ['SPAM_FLOOD'] }],
    ['reasonCodes[0].explanationRequried', withRow({ ...codeRule('X'), explanationRequried: true })],
    ['reasonCodes[0].code', withRow({ ...codeRule('X'), code: 'spam' })],
    ['reasonCodes[0].code', withRow({ ...codeRule('X'), code: undefined })],
    ['reasonCodes[1].code', { ...valid, reasonCodes: [codeRule('X'), codeRule('X', ['operator'])] }],
    ['reasonCodes[0].meaning', withRow({ ...codeRule('X'), meaning: ' ' })],
    ['reasonCodes[0].initiators', withRow(codeRule('X', []))],
    ['reasonCodes[0].initiators', withRow(codeRule('X', ['user' as never]))],
    ['reasonCodes[0].initiators', withRow(codeRule('X', ['model', 'model']))],
    ['reasonCodes[0].explanationRequired', withRow({ ...codeRule('X'), explanationRequired: 'yes' })],
  ])('rejects a bad "%s", naming it', (field, input) => {
    expect(() => parsePolicy(input)).toThrow(`"${field}"`);
  });
});
