// The end policy is versioned data: every ConversationEnded and EndAttemptBlocked records the
// version it was decided under, so an auditor can re-check an end against its own rules.
import { isReasonCode, type ReasonCodeRule, V1_REASON_CODE_RULES } from './reason-codes';
import { INITIATORS, type Initiator, isOneOf } from './vocabulary';

export interface Policy {
  readonly version: number;
  readonly endCapableModels: readonly string[];
  readonly minRedirectionAttempts: number;
  readonly requireWarning: boolean;
  /** The reason codes an end may use under this version, and who may use each. */
  readonly reasonCodes: readonly ReasonCodeRule[];
}

export const POLICY_V1: Policy = Object.freeze({
  version: 1,
  endCapableModels: Object.freeze(['claude-opus-4', 'claude-opus-4-1']),
  minRedirectionAttempts: 2,
  requireWarning: false,
  reasonCodes: V1_REASON_CODE_RULES,
});

const POLICY_FIELDS = [
  'version',
  'endCapableModels',
  'minRedirectionAttempts',
  'requireWarning',
  'reasonCodes',
] as const;
const RULE_FIELDS = ['code', 'meaning', 'initiators', 'explanationRequired'] as const;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const invalid = (field: string, expected: string): Error => new Error(`Invalid policy: "${field}" must be ${expected}`);

const unknownFieldOf = (json: Record<string, unknown>, fields: readonly string[]): string | undefined =>
  Object.keys(json).find((key) => !fields.includes(key));

const isText = (value: unknown): value is string => typeof value === 'string' && value.trim().length > 0;

/**
 * Validates a policy read from configuration (POLICY_FILE). Unknown fields are refused: a
 * misspelt "requireWarnings" silently ignored would weaken the guards.
 */
export const parsePolicy = (json: unknown): Policy => {
  if (!isPlainObject(json)) throw new Error('Invalid policy: expected a JSON object');

  const unknownField = unknownFieldOf(json, POLICY_FIELDS);
  if (unknownField !== undefined) throw new Error(`Invalid policy: unknown field "${unknownField}"`);

  const { version, endCapableModels, minRedirectionAttempts, requireWarning } = json;
  if (!Number.isSafeInteger(version) || (version as number) < 1) throw invalid('version', 'an integer >= 1');
  if (!Array.isArray(endCapableModels) || !endCapableModels.every(isText))
    throw invalid('endCapableModels', 'an array of non-empty strings');
  if (!Number.isSafeInteger(minRedirectionAttempts) || (minRedirectionAttempts as number) < 0)
    throw invalid('minRedirectionAttempts', 'an integer >= 0');
  if (typeof requireWarning !== 'boolean') throw invalid('requireWarning', 'a boolean');

  return Object.freeze({
    version: version as number,
    endCapableModels: Object.freeze([...(endCapableModels as string[])]),
    minRedirectionAttempts: minRedirectionAttempts as number,
    requireWarning,
    reasonCodes: parseReasonCodes(json.reasonCodes),
  });
};

/**
 * The version's reason-code table: one row per code, in the file's order. Rows are rebuilt with
 * their fields in one order, so a version read back from the store compares equal to its file.
 */
const parseReasonCodes = (json: unknown): readonly ReasonCodeRule[] => {
  if (!Array.isArray(json) || json.length === 0) throw invalid('reasonCodes', 'a non-empty array of reason codes');
  const seen = new Set<string>();
  return Object.freeze(
    json.map((row: unknown, index) => {
      const at = `reasonCodes[${index}]`;
      if (!isPlainObject(row)) throw invalid(at, 'an object {code, meaning, initiators, explanationRequired}');
      const unknownField = unknownFieldOf(row, RULE_FIELDS);
      if (unknownField !== undefined) throw new Error(`Invalid policy: unknown field "${at}.${unknownField}"`);
      const { code, meaning, initiators, explanationRequired } = row;
      if (!isReasonCode(code))
        throw invalid(`${at}.code`, 'upper-case letters, digits and _ (at most 64, a letter first)');
      if (seen.has(code)) throw invalid(`${at}.code`, `declared once (${code} is twice)`);
      seen.add(code);
      if (!isText(meaning)) throw invalid(`${at}.meaning`, 'a non-empty string');
      if (
        !Array.isArray(initiators) ||
        initiators.length === 0 ||
        !initiators.every((initiator) => isOneOf(INITIATORS, initiator)) ||
        new Set(initiators).size !== initiators.length
      )
        throw invalid(`${at}.initiators`, `a non-empty list of distinct initiators (${INITIATORS.join(', ')})`);
      if (typeof explanationRequired !== 'boolean') throw invalid(`${at}.explanationRequired`, 'a boolean');
      return Object.freeze({
        code,
        meaning,
        initiators: Object.freeze([...(initiators as Initiator[])]),
        explanationRequired,
      });
    }),
  );
};
