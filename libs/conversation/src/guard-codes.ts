/** The end guards of DOMAIN.md, in the order they are checked and reported. */
export const GUARD_CODES = [
  'SAFETY_RISK_OPEN',
  'LINEAGE_ALREADY_ENDED',
  'REASON_NOT_ALLOWED',
  'MODEL_NOT_END_CAPABLE',
  'INSUFFICIENT_REDIRECTION',
  'NO_USER_REQUEST',
  'NO_PRIOR_WARNING',
] as const;
export type GuardCode = (typeof GUARD_CODES)[number];
