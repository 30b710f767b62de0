import { parsePolicy, Policy, POLICY_V1 } from '@app/conversation';
import { ConfigError } from '@app/platform';

export const POLICIES = Symbol('POLICIES');

/** Every known policy version; the newest is in force. Ends record the version they ran under. */
export class PolicyBook {
  constructor(
    readonly all: Policy[],
    /** The version POLICY_FILE gave, if any. */
    readonly fileVersion?: number,
  ) {}

  get current(): Policy {
    return this.all.reduce((a, b) => (b.version > a.version ? b : a));
  }

  byVersion(version: number): Policy | undefined {
    return this.all.find((p) => p.version === version);
  }
}

/** Built-in version 1 plus the POLICY_FILE override, validated at start (before the stored versions are compared). */
export function loadPolicies(policyJson: unknown): PolicyBook {
  if (policyJson === undefined) return new PolicyBook([POLICY_V1]);
  let policy: Policy;
  try {
    policy = parsePolicy(policyJson);
  } catch (err) {
    throw new ConfigError('POLICY_FILE', (err as Error).message);
  }
  if (policy.version === POLICY_V1.version && JSON.stringify(policy) !== JSON.stringify(POLICY_V1)) {
    throw new ConfigError('POLICY_FILE', `must use a new version number: version ${POLICY_V1.version} is built in and fixed`);
  }
  return new PolicyBook(policy.version === POLICY_V1.version ? [POLICY_V1] : [POLICY_V1, policy], policy.version);
}
