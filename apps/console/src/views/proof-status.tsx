// "verified" only when this browser recomputed every event's chain hash from its content, checked each
// prevHash links to the previous event, and checked the checkpoint's signature with a pinned key and
// the inclusion proof of the conversation's latest event against its root.
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError, client, type EventDto } from '../api';
import { useConsoleConfig } from '../queries';
import { checkChain } from '../verify/chain';
import { checkInclusion, type ProofCheck } from '../verify/check';
import { keyName } from '../verify/note';

const PASTED = 'console.verifierKey';

interface PinnedKey {
  key: string;
  source: string;
}

/**
 * The auditor's own key (pasted, remembered in this browser) wins: /console/config.json is served by the
 * very server being checked. Else the operator's pin, the one named like the checkpoint's origin first.
 */
function choosePinned(configKeys: string[], pasted: string | null, origin: string | undefined): PinnedKey | undefined {
  if (pasted) return { key: pasted, source: 'pasted by you (remembered in this browser)' };
  const byOrigin = configKeys.find((k) => keyName(k) === origin) ?? configKeys[0];
  if (byOrigin) return { key: byOrigin, source: 'pinned by the operator (/console/config.json)' };
  return undefined;
}

export function ProofStatus({ events }: { events: EventDto[] }) {
  const event = events[events.length - 1]!;
  const config = useConsoleConfig();
  const [pasted, setPasted] = useState(() => localStorage.getItem(PASTED));
  const [draft, setDraft] = useState('');
  // One read of the checkpoint and the proof; while the log has not covered the event yet it is asked
  // again every 10 s (checkpoints are signed every CHECKPOINT_INTERVAL seconds).
  const check = useQuery({
    queryKey: ['proof', event.eventId, events, config.data?.verifierKeys, pasted],
    enabled: config.data !== undefined,
    staleTime: Infinity,
    refetchInterval: (query) => (query.state.data?.result.status === 'not-yet' ? 10_000 : false),
    queryFn: async (): Promise<{ result: ProofCheck; pinned?: PinnedKey }> => {
      // The chain first: the leaf the log proves is the last event's hash, which only means something
      // once every event's content is shown to lead to it.
      const chain = await checkChain(events);
      if (!chain.valid) {
        return {
          result: { status: 'not-verified', why: `the chain breaks at version ${chain.brokenAtVersion}: ${chain.why}` },
        };
      }
      const answer = await client.GET('/v1/audit/log/checkpoint', { parseAs: 'text' });
      if (answer.response.status === 404) {
        return { result: { status: 'not-verified', why: 'no signed checkpoint yet' } };
      }
      if (answer.error !== undefined || typeof answer.data !== 'string') {
        throw new ApiError(answer.response.status, undefined);
      }
      const note = answer.data;
      const pinned = choosePinned(config.data!.verifierKeys, pasted, note.split('\n')[0]);
      const result = await checkInclusion({
        note,
        verifierKey: pinned?.key,
        eventHash: event.hash,
        fetchProof: async (treeSize) => {
          const proof = await client.GET('/v1/audit/log/inclusion', {
            params: { query: { eventId: event.eventId, treeSize } },
          });
          if (proof.response.status === 404) return null;
          if (proof.error !== undefined || !proof.data) throw new ApiError(proof.response.status, proof.error);
          return proof.data;
        },
      });
      return { result, pinned };
    },
  });
  const pinned =
    check.data?.pinned ?? (config.data ? choosePinned(config.data.verifierKeys, pasted, undefined) : undefined);
  const outcome = check.data?.result;

  let text = 'checking…';
  if (check.error) {
    text = `not verified: ${check.error instanceof Error ? check.error.message : String(check.error)}`;
  } else if (outcome?.status === 'verified') {
    const covers = `content, chain and inclusion in the signed log of size ${outcome.treeSize}`;
    text = `verified: ${events.length} events: ${covers}`;
  } else if (outcome?.status === 'not-yet') {
    text = `not verified: not yet in a signed checkpoint (the latest covers ${outcome.treeSize} events)`;
  } else if (outcome) text = `not verified: ${outcome.why}`;

  const pin = (e: FormEvent) => {
    e.preventDefault();
    const key = draft.trim();
    if (!key) return;
    localStorage.setItem(PASTED, key);
    setPasted(key);
    setDraft('');
  };
  const forget = () => {
    localStorage.removeItem(PASTED);
    setPasted(null);
  };
  const verified = outcome?.status === 'verified';

  return (
    <div className="proof">
      <h2>Transparency log</h2>
      <p>
        Every event’s content and hash link, and the inclusion of the latest (version {event.version}) in the signed
        log, checked by this browser:{' '}
        <strong
          data-testid="proof-status"
          className={`badge ${verified ? 'ok' : outcome?.status === 'not-yet' ? 'warn' : 'bad'}`}
        >
          {text}
        </strong>
      </p>
      {events.some((e) => e.storedData !== undefined) && (
        <p className="hint" data-testid="sealed-hint">
          Messages, explanations, notes and comments are hashed as stored, encrypted: the text shown is the service’s
          decryption of them, which this browser cannot check; erased text stays covered by the hashes.
        </p>
      )}
      {outcome?.status === 'verified' && (
        <p className="hint">
          Leaf {outcome.leafIndex} of {outcome.treeSize} in {outcome.origin}; root {outcome.rootHash}.
        </p>
      )}
      <p
        className="hint"
        data-testid="verifier-key-used"
        data-source={pinned ? (pinned.source.startsWith('pasted') ? 'pasted' : 'operator') : 'none'}
      >
        {pinned ? (
          <>
            Verifier key <code className="wrap">{pinned.key}</code>, {pinned.source}.{' '}
            {pinned.source.startsWith('pasted') && (
              <button type="button" className="link-button" onClick={forget}>
                Forget this key
              </button>
            )}
          </>
        ) : (
          'No verifier key is pinned: the operator sets CONSOLE_VERIFIER_KEYS, ' +
          'or paste the log’s key from a source you trust.'
        )}
        {pinned?.source.startsWith('pinned') && ' A key you paste below takes precedence over it.'}
      </p>
      {config.data && (
        <form className="inline-form" onSubmit={pin} aria-label="Pin a verifier key">
          <div className="field field-wide">
            <label htmlFor="verifier-key">Verifier key</label>
            <input
              id="verifier-key"
              type="text"
              spellCheck={false}
              value={draft}
              placeholder="origin+1234abcd+AbC…"
              onChange={(e) => setDraft(e.target.value)}
            />
          </div>
          <button type="submit" className="secondary">
            {pasted ? 'Replace my key' : 'Pin this key'}
          </button>
        </form>
      )}
    </div>
  );
}
