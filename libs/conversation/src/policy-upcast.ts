import { parsePolicy, type Policy } from './policy';
import { V1_REASON_CODE_RULES } from './reason-codes';

/**
 * Fields added to Policy after it was first stored, each with the value that reproduces how a
 * version stored without it behaved (not the value new versions should pick). A version is
 * stored in full at first use; when the code later learns a new field, an older stored version
 * is re-checked with that field's old behaviour. Adding a field to Policy means adding it here
 * (policy-upcast.spec.ts fails otherwise for a field a stored version 1 lacks).
 */
export const POLICY_FIELD_DEFAULTS: Readonly<Partial<Record<keyof Policy, unknown>>> = Object.freeze({
  // Before reason codes were policy data, every version (and every POLICY_FILE) used version 1's table.
  reasonCodes: V1_REASON_CODE_RULES,
});

/**
 * A stored policy as the current code reads it: missing fields take their old behaviour from
 * `defaults`; anything else is validated as strictly as a POLICY_FILE (an unknown field or a
 * missing field without a default is an error, never silently ignored).
 */
export function upcastPolicy(
  stored: unknown,
  defaults: Readonly<Record<string, unknown>> = POLICY_FIELD_DEFAULTS,
): Policy {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored))
    throw new Error('Invalid policy: expected a JSON object');
  const filled: Record<string, unknown> = { ...stored };
  for (const [field, value] of Object.entries(defaults)) if (!(field in filled)) filled[field] = value;
  return parsePolicy(filled);
}

/**
 * Two policies are the same version with the same content (both as parsePolicy builds them, so
 * the keys are in one order). Strict: even a reordered model list is another content.
 */
export function samePolicy(a: Policy, b: Policy): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
