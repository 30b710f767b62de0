import { isISO8601, maxLength } from 'class-validator';
import {
  AUDIT_TIME,
  EndFilters,
  MAX_POLICY_VERSION,
  MODEL_ID,
  REAL_CALENDAR_DATE,
  REASON_CODE_FORM,
  REVIEW_OUTCOME_FILTERS,
  END_FILTER_NAMES,
  TENANT_ID,
  withinYears1To9999,
  YEARS_1_TO_9999,
} from '@app/audit';
import { INITIATORS, REASON_CODE_PATTERN } from '@app/conversation';
import { UsageError } from '../args';

const OWN_FLAGS = ['format', 'out', 'bundle'];
const FILTER_FLAGS = END_FILTER_NAMES;
type FilterFlag = (typeof FILTER_FLAGS)[number];

/**
 * What is wrong with a value, each as the API's 400 says it (without the field's name). Lengths and
 * calendar dates are checked by the same class-validator functions as the API's decorators.
 */
type Check = (value: string) => string[];

const when = (wrong: boolean, message: string): string[] => (wrong ? [message] : []);
const oneOf =
  (list: readonly string[]): Check =>
  (v) =>
    when(!list.includes(v), `must be one of: ${list.join(', ')}`);
const named =
  (rule: { pattern: RegExp; maxLength: number; message: string }): Check =>
  (v) => [
    ...when(!maxLength(v, rule.maxLength), `must be shorter than or equal to ${rule.maxLength} characters`),
    ...when(!rule.pattern.test(v), rule.message),
  ];
const time: Check = (v) => [
  ...when(!AUDIT_TIME.pattern.test(v), AUDIT_TIME.message),
  ...when(!isISO8601(v, { strict: true }), REAL_CALENDAR_DATE),
  ...when(!withinYears1To9999(v), YEARS_1_TO_9999),
];
const policyVersion: Check = (v) => {
  const n = Number(v);
  return [
    ...when(!(n <= MAX_POLICY_VERSION), `must not be greater than ${MAX_POLICY_VERSION}`),
    ...when(!(n >= 1), 'must not be less than 1'),
    ...when(!Number.isInteger(n), 'must be an integer number'),
  ];
};

const CHECKS: Record<FilterFlag, Check> = {
  reasonCode: (v) => when(!REASON_CODE_PATTERN.test(v), REASON_CODE_FORM),
  initiator: oneOf(INITIATORS),
  modelId: named(MODEL_ID),
  tenantId: named(TENANT_ID),
  policyVersion,
  reviewOutcome: oneOf(REVIEW_OUTCOME_FILTERS),
  from: time,
  to: time,
};

/** The filters, checked by the rules of GET /v1/audit/export (`@app/audit`), every fault named. */
export function parseExportFilters(flags: Record<string, string | true>): EndFilters {
  const unknown = Object.keys(flags).filter(
    (f) => !OWN_FLAGS.includes(f) && !(FILTER_FLAGS as readonly string[]).includes(f),
  );
  if (unknown.length)
    throw new UsageError(`unknown flag --${unknown[0]}; filters: ${FILTER_FLAGS.map((f) => `--${f}`).join(' ')}`);
  const filters: Record<string, string | number> = {};
  const faults: string[] = [];
  for (const name of FILTER_FLAGS) {
    const v = flags[name];
    if (v === true) throw new UsageError(`--${name} needs a value`);
    if (v === undefined) continue;
    faults.push(...CHECKS[name](v).map((m) => `${name} ${m}`));
    filters[name] = name === 'policyVersion' ? Number(v) : v;
  }
  if (faults.length) throw new UsageError(faults.join('; '));
  return filters as EndFilters;
}
