import { POLICY_V1, parsePolicy } from './policy';

const valid = { version: 3, endCapableModels: ['claude-opus-4-1'], minRedirectionAttempts: 3, requireWarning: true };

describe(parsePolicy.name, () => {
  it('holds DOMAIN.md version 1', () => {
    expect(POLICY_V1).toEqual({
      version: 1,
      endCapableModels: ['claude-opus-4', 'claude-opus-4-1'],
      minRedirectionAttempts: 2,
      requireWarning: false,
    });
  });

  it('accepts a valid policy', () => {
    expect(parsePolicy(JSON.parse(JSON.stringify(valid)))).toEqual(valid);
  });

  it('accepts version 1 as written', () => {
    expect(parsePolicy({ ...POLICY_V1, endCapableModels: [...POLICY_V1.endCapableModels] })).toEqual(POLICY_V1);
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
  ])('rejects a bad "%s", naming it', (field, input) => {
    expect(() => parsePolicy(input)).toThrow(`"${field}"`);
  });
});
