import { Policy, POLICY_V1, ReasonCode, reasonCodesOf, upcastPolicy } from '@app/conversation';
import { ConfigError } from '@app/platform';

export const POLICIES = Symbol('POLICIES');

/**
 * The policy versions this process knows: those it may decide under (built-in version 1 and
 * POLICY_FILE's; the newest is in force) and any other stored in the database at start. A
 * reason code is a code of one of them; which ones an end may use is the version in force's.
 */
export class PolicyBook {
  /** Every code some known version declares, in the order first declared. */
  readonly reasonCodes: readonly ReasonCode[];

  constructor(
    readonly all: Policy[],
    /** The version POLICY_FILE gave, if any. */
    readonly fileVersion?: number,
    /** Stored versions this process does not decide under: their codes stay known (reviews, filters). */
    readonly stored: Policy[] = [],
  ) {
    this.reasonCodes = reasonCodesOf([...all, ...stored]);
  }

  get current(): Policy {
    return this.all.reduce((a, b) => (b.version > a.version ? b : a));
  }

  /** A code of some known version; anything else is no reason code at all (400, never an end attempt). */
  knowsReasonCode(code: unknown): code is ReasonCode {
    return typeof code === 'string' && (this.reasonCodes as readonly string[]).includes(code);
  }
}

/**
 * Built-in version 1 plus the POLICY_FILE override, validated at start (before the stored
 * versions are compared). A file read as a stored version is: one written before reason codes
 * were policy data has no `reasonCodes` and means version 1's table.
 */
export function loadPolicies(policyJson: unknown): PolicyBook {
  if (policyJson === undefined) return new PolicyBook([POLICY_V1]);
  let policy: Policy;
  try {
    policy = upcastPolicy(policyJson);
  } catch (err) {
    throw new ConfigError('POLICY_FILE', (err as Error).message);
  }
  if (policy.version === POLICY_V1.version && JSON.stringify(policy) !== JSON.stringify(POLICY_V1)) {
    throw new ConfigError(
      'POLICY_FILE',
      `must use a new version number: version ${POLICY_V1.version} is built in and fixed`,
    );
  }
  return new PolicyBook(policy.version === POLICY_V1.version ? [POLICY_V1] : [POLICY_V1, policy], policy.version);
}
