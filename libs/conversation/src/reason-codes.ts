import { type Initiator } from './vocabulary';

/** A code word: upper-case letters, digits and `_`, starting with a letter, at most 64 characters. */
export const REASON_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/** The codes of policy version 1 (DOMAIN.md), in its order: the only codes the program names itself. */
export const V1_REASON_CODES = [
  'CHILD_SEXUAL_EXPLOITATION',
  'MASS_HARM_UPLIFT',
  'VIOLENT_EXTREMISM',
  'ABUSE_OF_ASSISTANT',
  'HATE_OR_HARASSMENT_GENERATION',
  'SERIOUS_CRIME_FACILITATION',
  'USER_REQUESTED',
  'OPERATOR_ACTION',
  'OTHER_POLICY',
] as const;
export type V1ReasonCode = (typeof V1_REASON_CODES)[number];

declare const checkedCodeWord: unique symbol;
/**
 * Which reason codes exist is policy data: each version declares its own, and a stored end keeps
 * the code it was decided with even after a later version drops it. So a reason code is a checked
 * code word (isReasonCode); version 1's are literal types too, for the code that names them.
 */
export type ReasonCode = V1ReasonCode | (string & { readonly [checkedCodeWord]: true });

/** One row of a policy version's reason-code table (DOMAIN.md "Reason codes"). */
export interface ReasonCodeRule {
  readonly code: ReasonCode;
  readonly meaning: string;
  /** Who may end with it ("who may use it"); anyone else is REASON_NOT_ALLOWED. */
  readonly initiators: readonly Initiator[];
  /** An end with this code and no explanation is malformed (nothing appended), not blocked. */
  readonly explanationRequired: boolean;
}

const rule = (
  code: V1ReasonCode,
  meaning: string,
  initiators: Initiator[],
  explanationRequired = false,
): ReasonCodeRule => Object.freeze({ code, meaning, initiators: Object.freeze(initiators), explanationRequired });
const harm = (code: V1ReasonCode, meaning: string) => rule(code, meaning, ['model', 'operator']);

/** The table of policy version 1, as DOMAIN.md has it; also what a version stored without a table used. */
export const V1_REASON_CODE_RULES: readonly ReasonCodeRule[] = Object.freeze([
  harm('CHILD_SEXUAL_EXPLOITATION', 'sexual content involving minors'),
  harm('MASS_HARM_UPLIFT', 'information enabling large-scale violence, terror, CBRN harm'),
  harm('VIOLENT_EXTREMISM', 'promotion or planning of violent extremism'),
  harm('ABUSE_OF_ASSISTANT', 'persistent abuse directed at the assistant'),
  harm('HATE_OR_HARASSMENT_GENERATION', 'persistent demands for hateful or harassing content'),
  harm('SERIOUS_CRIME_FACILITATION', 'persistent demands for help with serious crime'),
  rule('USER_REQUESTED', 'the user explicitly asked to end the chat', ['model']),
  rule('OPERATOR_ACTION', 'staff ended it under policy', ['operator'], true),
  rule('OTHER_POLICY', 'anything else; explanation required', ['operator'], true),
]);

/**
 * The harm categories of redirections and warnings: version 1's harm codes, a fixed word list of
 * those events (not versioned: an end's reason need not match them, policy 1 counts attempts).
 */
export const HARM_CATEGORIES = [
  'CHILD_SEXUAL_EXPLOITATION',
  'MASS_HARM_UPLIFT',
  'VIOLENT_EXTREMISM',
  'ABUSE_OF_ASSISTANT',
  'HATE_OR_HARASSMENT_GENERATION',
  'SERIOUS_CRIME_FACILITATION',
] as const satisfies readonly V1ReasonCode[];
export type HarmCategory = (typeof HARM_CATEGORIES)[number];

/** A code word; whether a policy version declares it is a question for that version. */
export const isReasonCode = (value: unknown): value is ReasonCode =>
  typeof value === 'string' && REASON_CODE_PATTERN.test(value);
/** A code word as a ReasonCode (say, one a policy file declares); anything else throws. */
export const asReasonCode = (value: string): ReasonCode => {
  if (!isReasonCode(value)) throw new Error(`Not a reason code: ${JSON.stringify(value)}`);
  return value;
};

/** The policy's row for a code; none for a code this version does not declare (or dropped). */
/** What these helpers read of a policy (policy.ts imports this module: no cycle back). */
type Policy = { readonly reasonCodes: readonly ReasonCodeRule[] };

export const reasonCodeRule = (policy: Policy, code: string): ReasonCodeRule | undefined =>
  policy.reasonCodes.find((candidate) => candidate.code === code);

export const isReasonAllowedFor = (policy: Policy, initiator: Initiator, code: string): boolean =>
  reasonCodeRule(policy, code)?.initiators.includes(initiator) ?? false;

export const isExplanationRequired = (policy: Policy, code: string): boolean =>
  reasonCodeRule(policy, code)?.explanationRequired ?? false;

/** Every code some of these versions declares, each once, in the order first declared. */
export const reasonCodesOf = (policies: Iterable<Policy>): ReasonCode[] => {
  const codes = new Set<ReasonCode>();
  for (const policy of policies) for (const { code } of policy.reasonCodes) codes.add(code);
  return [...codes];
};

/** Blank (missing, empty or whitespace only) explanations do not count. */
export const hasText = (value: string | undefined): value is string =>
  typeof value === 'string' && value.trim().length > 0;
