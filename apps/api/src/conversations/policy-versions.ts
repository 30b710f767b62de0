import type { ClientBase } from 'pg';
import { hostname } from 'node:os';
import { appendInTransaction, newEventId, VersionConflict } from '@app/event-store';
import { Policy, samePolicy } from '@app/conversation';
import { policyDigest, policyStreamId, POLICY_VERSION_RECORDED, readStoredPolicies, StoredPolicy } from '@app/audit';
import { ConfigError } from '@app/platform';
import { PolicyBook } from './policies';

/**
 * At start, before any decision: every policy version this process may decide under is stored
 * in full at its first use (PolicyVersionRecorded in `policy-<version>`), and a version stored
 * already is decided under as stored. A POLICY_FILE that changes a stored version's rules is
 * refused; a built-in copy that differs from its stored version yields to it, with a warning
 * (the record says what that version meant, whatever the code says now). Every other stored
 * version joins the book too: its reason codes stay known after the service moved on.
 */
export async function registerPolicies(
  client: ClientBase,
  configured: PolicyBook,
  warn: (message: string) => void,
): Promise<PolicyBook> {
  const inForce: Policy[] = [];
  for (const policy of configured.all) {
    const fromFile = policy.version === configured.fileVersion;
    inForce.push(await registerOne(client, policy, fromFile, warn));
  }
  const others = [...(await readStoredPolicies(client)).values()].filter(
    (stored) => !inForce.some((policy) => policy.version === stored.version),
  );
  // A stored version that does not check out is compliance's finding; its codes are not known here.
  const readable = others.flatMap((stored) => (stored.policy ? [stored.policy] : []));
  return new PolicyBook(inForce, configured.fileVersion, readable);
}

async function registerOne(
  client: ClientBase,
  policy: Policy,
  fromFile: boolean,
  warn: (message: string) => void,
): Promise<Policy> {
  for (let attempt = 0; ; attempt++) {
    const stored = (await readStoredPolicies(client)).get(policy.version);
    if (stored) return reconcile(stored, policy, fromFile, warn);
    try {
      await appendInTransaction(
        client,
        policyStreamId(policy.version),
        [
          {
            eventId: newEventId(),
            type: POLICY_VERSION_RECORDED,
            data: { version: policy.version, policy: { ...policy }, sha256: policyDigest(policy) },
            metadata: {
              actor: { type: 'system', id: 'conversation-service' },
              origin: fromFile ? 'POLICY_FILE' : 'built-in',
              host: hostname(),
            },
            occurredAt: new Date().toISOString(),
          },
        ],
        { expectedVersion: 'no_stream' },
      );
      return policy;
    } catch (err) {
      // another process stored it first: compare with what it stored
      if (!(err instanceof VersionConflict) || attempt > 0) throw err;
    }
  }
}

function reconcile(stored: StoredPolicy, policy: Policy, fromFile: boolean, warn: (message: string) => void): Policy {
  const what = `policy version ${policy.version} (stored ${stored.recordedAt}, sha256 ${stored.sha256})`;
  if (!stored.policy) {
    throw new ConfigError(fromFile ? 'POLICY_FILE' : 'policy', `cannot be checked against ${what}: ${stored.problem}`);
  }
  if (samePolicy(stored.policy, policy)) return stored.policy;
  if (fromFile) {
    throw new ConfigError(
      'POLICY_FILE',
      `changes the rules of ${what}: a stored version never changes; give the new rules a new version number`,
    );
  }
  warn(`the built-in copy of policy version ${policy.version} differs from ${what}; deciding under the stored version`);
  return stored.policy;
}
