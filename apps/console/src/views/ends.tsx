import { client, unwrap, type AuditEnd } from '../api';
import {
  ConversationLink,
  Pager,
  TableRegion,
  TimeHeader,
  rowOpen,
  useOrder,
  usePaged,
} from '../components/paged-table';
import { Empty, ErrorState, Loading } from '../components/states';
import { apiFilters, queryOf } from '../filters';
import { useFilters } from '../use-filters';
import { REVIEW_LABEL, Time } from '../format';
import { useLocation } from '../router';

export function Ends() {
  const location = useLocation();
  // A new filter or order starts again at page 1.
  return <EndsTable key={location.searchText} />;
}

function EndsTable() {
  const filters = useFilters();
  const q = apiFilters(filters);
  const [order, flipOrder] = useOrder();
  const { query, page, next, previous } = usePaged(['ends', q, order], async (cursor) =>
    unwrap(await client.GET('/v1/audit/ends', { params: { query: { ...q, order, cursor, limit: 50 } } })),
  );
  const items = query.data?.items ?? [];
  const open = (e: AuditEnd) => `/conversations/${e.conversationId}${queryOf(filters)}`;

  return (
    <section>
      <h1>Ends</h1>
      {query.error ? (
        <ErrorState error={query.error} what="the ends" />
      ) : query.isPending ? (
        <Loading what="the ends" />
      ) : items.length === 0 ? (
        <Empty>No ends match these filters.</Empty>
      ) : (
        <>
          <TableRegion label="Ends" scrollHint>
            <table className="list">
              <thead>
                <tr>
                  <TimeHeader label="Ended" order={order} onFlip={flipOrder} />
                  <th scope="col">Reason</th>
                  <th scope="col">Initiator</th>
                  <th scope="col">Model</th>
                  <th scope="col">Policy</th>
                  <th scope="col" className="num">
                    Redirections
                  </th>
                  <th scope="col">Review</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Conversation</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr
                    key={e.endEventId}
                    data-testid="end-row"
                    data-conversation-id={e.conversationId}
                    data-end-event-id={e.endEventId}
                    {...rowOpen(open(e))}
                  >
                    <td>
                      <Time iso={e.endedAt} />
                    </td>
                    <td>
                      <code>{e.reasonCode}</code>
                    </td>
                    <td>{e.initiator}</td>
                    <td>{e.modelId ?? '—'}</td>
                    <td>v{e.policyVersion}</td>
                    <td className="num">{e.redirectionCount}</td>
                    <td>
                      <span className={`badge review-${e.reviewOutcome ?? 'none'}`}>
                        {REVIEW_LABEL[e.reviewOutcome ?? 'none']}
                      </span>
                    </td>
                    <td>{e.tenantId}</td>
                    <td>
                      <ConversationLink to={open(e)} conversationId={e.conversationId} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
          <p className="hint">
            Pages run from the newest end to the oldest, or with “Oldest first” from the oldest to the newest.
          </p>
        </>
      )}
      <Pager page={page} next={next} previous={previous} count={query.data?.items.length ?? 0} />
    </section>
  );
}
