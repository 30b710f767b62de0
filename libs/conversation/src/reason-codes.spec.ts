import { HARM_CATEGORIES, REASON_CODES, REASON_CODE_LIST, isReasonAllowedFor } from './reason-codes';

describe('REASON_CODES', () => {
  it('lists the codes of policy version 1, self-harm not among them', () => {
    expect(REASON_CODE_LIST).toEqual([...HARM_CATEGORIES, 'USER_REQUESTED', 'OPERATOR_ACTION', 'OTHER_POLICY']);
    expect(HARM_CATEGORIES).toHaveLength(6);
  });

  it('requires an explanation only for operator policy reasons', () => {
    expect(REASON_CODE_LIST.filter((code) => REASON_CODES[code].explanationRequired)).toEqual([
      'OPERATOR_ACTION',
      'OTHER_POLICY',
    ]);
  });
});

describe(isReasonAllowedFor.name, () => {
  it.each(HARM_CATEGORIES)('lets model and operator use %s', (code) => {
    expect([isReasonAllowedFor('model', code), isReasonAllowedFor('operator', code)]).toEqual([true, true]);
  });

  it('keeps USER_REQUESTED for the model', () => {
    expect([isReasonAllowedFor('model', 'USER_REQUESTED'), isReasonAllowedFor('operator', 'USER_REQUESTED')]).toEqual([
      true,
      false,
    ]);
  });

  it.each(['OPERATOR_ACTION', 'OTHER_POLICY'])('keeps %s for operators', (code) => {
    expect([isReasonAllowedFor('model', code), isReasonAllowedFor('operator', code)]).toEqual([false, true]);
  });

  it('allows no unknown code', () => {
    expect(isReasonAllowedFor('operator', 'SELF_HARM')).toBe(false);
  });
});
