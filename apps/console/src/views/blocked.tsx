import { client, unwrap, type BlockedEnd, type GuardCode } from '../api';
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
import { apiFilters, blockedFilters, queryOf } from '../filters';
import { useFilters } from '../use-filters';
import { Time } from '../format';
import { navigate, useLocation } from '../router';

export function Blocked() {
  const location = useLocation();
  return <BlockedTable key={location.searchText} />;
}

function BlockedTable() {
  const filters = useFilters();
  const location = useLocation();
  const guard = (location.search.get('guard') ?? undefined) as GuardCode | undefined;
  const f = apiFilters(filters);
  const q = { ...blockedFilters(f), guard };
  const [order, flipOrder] = useOrder();
  const { query, page, next, previous } = usePaged(['blocked', q, order], async (cursor) =>
    unwrap(await client.GET('/v1/audit/blocked-ends', { params: { query: { ...q, order, cursor, limit: 50 } } })),
  );
  const items = query.data?.items ?? [];
  const open = (e: BlockedEnd) => `/conversations/${e.conversationId}${queryOf(filters)}`;

  return (
    <section>
      <h1>Blocked attempts</h1>
      {guard && (
        <p className="active-filter">
          Failed guard: <code>{guard}</code>{' '}
          <button type="button" className="secondary" onClick={() => navigate('/blocked' + queryOf(filters))}>
            Any guard
          </button>
        </p>
      )}
      {query.error ? (
        <ErrorState error={query.error} what="the blocked attempts" />
      ) : query.isPending ? (
        <Loading what="the blocked attempts" />
      ) : items.length === 0 ? (
        <Empty>No blocked attempts match these filters.</Empty>
      ) : (
        <>
          <TableRegion label="Blocked attempts" scrollHint>
            <table className="list">
              <thead>
                <tr>
                  <TimeHeader label="Attempted" order={order} onFlip={flipOrder} />
                  <th scope="col">Proposed reason</th>
                  <th scope="col">Failed guards</th>
                  <th scope="col">Initiator</th>
                  <th scope="col">Model</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Conversation</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr
                    key={e.eventId}
                    data-testid="blocked-row"
                    data-conversation-id={e.conversationId}
                    {...rowOpen(open(e))}
                  >
                    <td>
                      <Time iso={e.attemptedAt} />
                    </td>
                    <td>
                      <code>{e.proposedReasonCode}</code>
                    </td>
                    <td className="wrap-cell">
                      {e.failedGuards.map((g) => (
                        <span key={g} className="badge guard-failed">
                          {g}
                        </span>
                      ))}
                    </td>
                    <td>{e.initiator}</td>
                    <td>{e.modelId ?? '—'}</td>
                    <td>v{e.policyVersion}</td>
                    <td>{e.tenantId}</td>
                    <td>
                      <ConversationLink to={open(e)} conversationId={e.conversationId} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        </>
      )}
      <Pager page={page} next={next} previous={previous} count={query.data?.items.length ?? 0} />
    </section>
  );
}
