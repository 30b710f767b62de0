// A reproducible random sample of ends for a review session: the seed is in the URL (same seed, same sample).
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { client, unwrap } from '../api';
import { ConversationLink, TableRegion, rowOpen } from '../components/paged-table';
import { Empty, ErrorState, Loading } from '../components/states';
import { apiFilters, queryOf } from '../filters';
import { useFilters } from '../use-filters';
import { REVIEW_LABEL, Time } from '../format';
import { navigate, useLocation } from '../router';

function newSeed(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function Sample() {
  const filters = useFilters();
  const location = useLocation();
  const seed = location.search.get('seed') ?? '';
  const sizeText = location.search.get('size') ?? '20';
  const size = Math.min(Math.max(Number.parseInt(sizeText, 10) || 20, 1), 500);
  const [seedDraft, setSeedDraft] = useState(seed);
  const [sizeDraft, setSizeDraft] = useState(String(size));
  useEffect(() => setSeedDraft(seed), [seed]);
  const q = apiFilters(filters);
  const query = useQuery({
    queryKey: ['sample', q, seed, size],
    queryFn: async () => unwrap(await client.GET('/v1/audit/sample', { params: { query: { ...q, seed, size } } })),
    enabled: seed !== '',
    staleTime: Infinity,
  });

  const draw = (event: FormEvent) => {
    event.preventDefault();
    const s = seedDraft.trim() || newSeed();
    navigate('/sample' + queryOf(filters, { seed: s, size: sizeDraft }));
  };

  return (
    <section>
      <h1>Sample</h1>
      <form className="inline-form" onSubmit={draw} aria-label="Draw a sample">
        <div className="field">
          <label htmlFor="sample-seed">Seed</label>
          <input
            id="sample-seed"
            type="text"
            value={seedDraft}
            placeholder="random"
            onChange={(e) => setSeedDraft(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="sample-size">Size</label>
          <input
            id="sample-size"
            type="number"
            min={1}
            max={500}
            value={sizeDraft}
            onChange={(e) => setSizeDraft(e.target.value)}
          />
        </div>
        <button type="submit">Draw sample</button>
      </form>
      {seed === '' ? (
        <Empty>Draw a sample of the ends that match the filters. Leave the seed empty for a new one.</Empty>
      ) : query.error ? (
        <ErrorState error={query.error} what="the sample" />
      ) : query.isPending ? (
        <Loading what="the sample" />
      ) : (
        <>
          <p>
            Seed <code data-testid="sample-seed">{query.data.seed}</code>: {query.data.items.length} of the ends
            matching the filters. The same seed over the same ends draws the same sample (the link reproduces it).
          </p>
          {query.data.items.length === 0 ? (
            <Empty>No ends match these filters.</Empty>
          ) : (
            <TableRegion label="Sample">
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Ended</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Initiator</th>
                    <th scope="col">Model</th>
                    <th scope="col">Review</th>
                    <th scope="col">Conversation</th>
                  </tr>
                </thead>
                <tbody>
                  {query.data.items.map((e, i) => {
                    const open = `/conversations/${e.conversationId}${queryOf(filters)}`;
                    return (
                      <tr
                        key={e.endEventId}
                        data-testid="sample-row"
                        data-conversation-id={e.conversationId}
                        data-end-event-id={e.endEventId}
                        {...rowOpen(open)}
                      >
                        <td className="num">{i + 1}</td>
                        <td>
                          <Time iso={e.endedAt} />
                        </td>
                        <td>
                          <code>{e.reasonCode}</code>
                        </td>
                        <td>{e.initiator}</td>
                        <td>{e.modelId ?? '—'}</td>
                        <td>{REVIEW_LABEL[e.reviewOutcome ?? 'none']}</td>
                        <td>
                          <ConversationLink to={open} conversationId={e.conversationId} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableRegion>
          )}
        </>
      )}
    </section>
  );
}
