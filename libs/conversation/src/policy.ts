// The end policy is versioned data: every ConversationEnded and EndAttemptBlocked records the
// version it was decided under, so an auditor can re-check an end against its own rules.

export interface Policy {
  readonly version: number;
  readonly endCapableModels: readonly string[];
  readonly minRedirectionAttempts: number;
  readonly requireWarning: boolean;
}

export const POLICY_V1: Policy = Object.freeze({
  version: 1,
  endCapableModels: Object.freeze(['claude-opus-4', 'claude-opus-4-1']),
  minRedirectionAttempts: 2,
  requireWarning: false,
});

const POLICY_FIELDS = ['version', 'endCapableModels', 'minRedirectionAttempts', 'requireWarning'] as const;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const invalid = (field: string, expected: string): Error =>
  new Error(`Invalid policy: "${field}" must be ${expected}`);

/**
 * Validates a policy read from configuration (POLICY_FILE). Unknown fields are refused: a
 * misspelt "requireWarnings" silently ignored would weaken the guards.
 */
export const parsePolicy = (json: unknown): Policy => {
  if (!isPlainObject(json)) throw new Error('Invalid policy: expected a JSON object');

  const unknownField = Object.keys(json).find((key) => !(POLICY_FIELDS as readonly string[]).includes(key));
  if (unknownField !== undefined) throw new Error(`Invalid policy: unknown field "${unknownField}"`);

  const { version, endCapableModels, minRedirectionAttempts, requireWarning } = json;
  if (!Number.isSafeInteger(version) || (version as number) < 1) throw invalid('version', 'an integer >= 1');
  if (
    !Array.isArray(endCapableModels) ||
    !endCapableModels.every((model) => typeof model === 'string' && model.trim().length > 0)
  )
    throw invalid('endCapableModels', 'an array of non-empty strings');
  if (!Number.isSafeInteger(minRedirectionAttempts) || (minRedirectionAttempts as number) < 0)
    throw invalid('minRedirectionAttempts', 'an integer >= 0');
  if (typeof requireWarning !== 'boolean') throw invalid('requireWarning', 'a boolean');

  return Object.freeze({
    version: version as number,
    endCapableModels: Object.freeze([...(endCapableModels as string[])]),
    minRedirectionAttempts: minRedirectionAttempts as number,
    requireWarning,
  });
};
