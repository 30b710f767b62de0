import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import {
  type GuardRule,
  guardRules,
  type Policy,
  POLICY_V1,
  type ReasonCode,
  type ReasonCodeRule,
  reasonCodesOf,
  upcastPolicy,
} from '@app/conversation';
import type { Queryable } from './queryable';

/**
 * Policy versions are stored in full at first use, as an event in a stream of their own
 * (`policy-<version>`, version 1 of the stream): the content as it was in force and the SHA-256
 * of its RFC 8785 canonical JSON. Compliance re-checks each end against this stored content,
 * never against the copy the code carries today.
 */
export const POLICY_STREAM_PREFIX = 'policy-';
export const POLICY_VERSION_RECORDED = 'PolicyVersionRecorded';

export const policyStreamId = (version: number): string => `${POLICY_STREAM_PREFIX}${version}`;

/** SHA-256 hex of the canonical JSON of a policy's content. */
export const policyDigest = (content: unknown): string =>
  createHash('sha256').update(canonicalize(content)).digest('hex');

export interface PolicyVersionRecordedData {
  version: number;
  policy: Record<string, unknown>;
  sha256: string;
}

export interface StoredPolicy {
  version: number;
  content: unknown;
  sha256: string;
  recordedAt: string;
  /** The content as the current code reads it (upcast); null when it cannot be read. */
  policy: Policy | null;
  problem?: string;
}

/** Every stored policy version, by version. A stored version that does not check out has `policy: null`. */
export async function readStoredPolicies(q: Queryable): Promise<Map<number, StoredPolicy>> {
  const { rows } = await q.query<{ stream_id: string; data: Partial<PolicyVersionRecordedData>; recorded_at: Date }>(
    `SELECT stream_id, data, recorded_at FROM es_events
      WHERE stream_id LIKE '${POLICY_STREAM_PREFIX}%' AND stream_version = 1 AND type = '${POLICY_VERSION_RECORDED}'`,
  );
  const stored = new Map<number, StoredPolicy>();
  for (const { stream_id, data, recorded_at } of rows) {
    const version = Number(stream_id.slice(POLICY_STREAM_PREFIX.length));
    if (!Number.isSafeInteger(version) || policyStreamId(version) !== stream_id) continue;
    stored.set(version, readOne(version, data, recorded_at.toISOString()));
  }
  return stored;
}

function readOne(version: number, data: Partial<PolicyVersionRecordedData>, recordedAt: string): StoredPolicy {
  const base = { version, content: data.policy, sha256: String(data.sha256), recordedAt };
  if (data.version !== version)
    return { ...base, policy: null, problem: `the event names version ${String(data.version)}` };
  if (policyDigest(data.policy ?? null) !== data.sha256)
    return { ...base, policy: null, problem: 'the content does not match its SHA-256' };
  try {
    const policy = upcastPolicy(data.policy);
    if (policy.version !== version)
      return { ...base, policy: null, problem: `the content says version ${policy.version}` };
    return { ...base, policy };
  } catch (err) {
    return { ...base, policy: null, problem: (err as Error).message };
  }
}

/** Every reason code of built-in version 1 and of every stored version that checks out. */
export async function knownReasonCodes(q: Queryable): Promise<ReasonCode[]> {
  const stored = [...(await readStoredPolicies(q)).values()].flatMap((s) => (s.policy ? [s.policy] : []));
  return reasonCodesOf([POLICY_V1, ...stored]);
}

/** A stored policy version as auditors read it: its values, its reason codes, each guard's rule. */
export interface PolicyView {
  version: number;
  endCapableModels: readonly string[];
  minRedirectionAttempts: number;
  requireWarning: boolean;
  reasonCodes: readonly ReasonCodeRule[];
  guards: GuardRule[];
}

/**
 * Every stored policy version that checks out, newest first (one that does not is compliance's
 * finding, not a rule anyone decides under).
 */
export async function listPolicies(q: Queryable): Promise<{ items: PolicyView[] }> {
  const items = [...(await readStoredPolicies(q)).values()]
    .flatMap((stored) => (stored.policy ? [stored.policy] : []))
    .sort((a, b) => b.version - a.version)
    .map((policy) => ({
      version: policy.version,
      endCapableModels: policy.endCapableModels,
      minRedirectionAttempts: policy.minRedirectionAttempts,
      requireWarning: policy.requireWarning,
      reasonCodes: policy.reasonCodes,
      guards: guardRules(policy),
    }));
  return { items };
}
