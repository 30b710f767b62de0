// Ends that do not satisfy their own policy version, with the failing rule (the API re-checks them).
import { useQuery } from '@tanstack/react-query';
import { client, unwrap, type Schemas } from '../api';
import { TableRegion } from '../components/paged-table';
import { Empty, ErrorState, Loading } from '../components/states';
import { apiFilters, queryOf } from '../filters';
import { useFilters } from '../use-filters';
import { Time, shortId } from '../format';
import { usePolicies, type Policy } from '../queries';
import { Link } from '../router';

const MAX_CALLS = 40;

const SPECIAL: Record<string, string> = {
  UNKNOWN_POLICY_VERSION: 'The end names a policy version that is not stored.',
  MALFORMED_END: 'The end event is malformed.',
  UNREADABLE_HISTORY: 'The conversation’s history could not be read.',
};

export function ruleText(policies: Policy[] | undefined, version: number | null, guard: string): string {
  const rule = policies?.find((p) => p.version === version)?.guards.find((g) => g.guard === guard)?.rule;
  return rule ?? SPECIAL[guard] ?? guard;
}

export function Compliance() {
  const filters = useFilters();
  // The end's own fields and time narrow the re-check; initiator and review outcome are not its filters.
  const { from, to, reasonCode, modelId, policyVersion, tenantId } = apiFilters(filters);
  const scope = { from, to, reasonCode, modelId, policyVersion, tenantId };
  const policies = usePolicies();
  // A call re-checks at most 5,000 ends: follow the cursor until every end was checked.
  const query = useQuery({
    queryKey: ['compliance', scope],
    queryFn: async () => {
      const items: Schemas['ComplianceItemDto'][] = [];
      let checked = 0;
      let cursor: string | undefined;
      for (let calls = 0; calls < MAX_CALLS; calls++) {
        const page = unwrap(await client.GET('/v1/audit/compliance', { params: { query: { ...scope, cursor } } }));
        items.push(...page.items);
        checked += page.checkedEnds;
        if (!page.nextCursor) return { items, checked, complete: true };
        cursor = page.nextCursor;
      }
      return { items, checked, complete: false };
    },
  });

  return (
    <section>
      <h1>Compliance</h1>
      <p className="hint">Every end re-checked against the guards of its own policy version.</p>
      {query.error ? (
        <ErrorState error={query.error} what="the compliance check" />
      ) : query.isPending ? (
        <Loading what="the compliance check" />
      ) : (
        <>
          <p data-testid="compliance-checked">
            {query.data.checked} ends checked{query.data.complete ? '' : ' (more remain: the check stopped early)'}.
          </p>
          {query.data.items.length === 0 ? (
            <Empty>Every end satisfies its own policy version.</Empty>
          ) : (
            <TableRegion label="Ends that fail their policy">
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">Ended</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Policy</th>
                    <th scope="col">Failing rule</th>
                    <th scope="col">Conversation</th>
                  </tr>
                </thead>
                <tbody>
                  {query.data.items.map((item) => (
                    <tr key={item.endEventId} data-testid="compliance-row" data-conversation-id={item.conversationId}>
                      <td>
                        <Time iso={item.endedAt} />
                      </td>
                      <td>
                        <code>{item.reasonCode ?? '—'}</code>
                      </td>
                      <td>{item.policyVersion === null ? '—' : `v${item.policyVersion}`}</td>
                      <td>
                        <ul className="plain">
                          {item.failedGuards.map((g) => (
                            <li key={g}>
                              <code>{g}</code>: {ruleText(policies.data?.items, item.policyVersion, g)}
                            </li>
                          ))}
                        </ul>
                      </td>
                      <td>
                        <Link to={`/conversations/${item.conversationId}${queryOf(filters)}`}>
                          {shortId(item.conversationId)}
                        </Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )}
        </>
      )}
    </section>
  );
}
