// One conversation: its message tree with every decision on the message it concerns, the guards with
// their policy's rule text, the chain status, the inclusion proof checked here, the subject's legal
// holds and the conversation's erasures, who looked, reviews. Erased content reads "Content erased".
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { ApiError, client, unwrap, type EventDto, type Schemas } from '../api';

type ErrorType = NonNullable<Schemas['ReviewEndDecisionDto']['errorType']>;
import { TableRegion } from '../components/paged-table';
import { Empty, ErrorState, Loading } from '../components/states';
import { queryOf } from '../filters';
import { useFilters } from '../use-filters';
import { Time, shortId } from '../format';
import { usePolicies, type Me, type Policy } from '../queries';
import { Link } from '../router';
import {
  activePath,
  buildTree,
  contentErased,
  contentUnreadable,
  erasureActor,
  newestMessage,
  recordedBy,
  subjectOf,
  type Mark,
  type MessageNode,
  type Tree,
} from '../timeline';
import { HoldsAndErasures } from './holds-and-erasures';
import { ProofStatus } from './proof-status';

export const SELF_REVIEW_TEXT = 'You recorded this end; another reviewer must review it.';

/** What an erased field reads as: its content key was destroyed, the event itself stays (and its hash). */
export const ERASED_TEXT = 'Content erased';
const ERASED_WHY = 'Its content key was destroyed by an erasure; the event and its hash remain in the record.';
export const UNREADABLE_TEXT = 'Content unreadable';
const UNREADABLE_WHY =
  'It does not decrypt with the service’s keys: its stored form was altered or a master key is missing. Not erased.';

/** The marker of an event some of whose text is erased (or, told apart, does not decrypt). */
function ErasedBadge({ what, unreadable = false }: { what?: string; unreadable?: boolean }) {
  const state = unreadable ? 'unreadable' : 'erased';
  return (
    <span
      className={`badge ${unreadable ? 'bad' : 'erased'}`}
      data-testid={`content-${state}`}
      title={unreadable ? UNREADABLE_WHY : ERASED_WHY}
    >
      {`${what ?? 'content'} ${state}`}
    </span>
  );
}

/** The badge an event gets when some of its text is erased or unreadable; nothing otherwise. */
function TextState({ event, what }: { event: EventDto; what: string }) {
  if (contentErased(event)) return <ErasedBadge what={what} />;
  if (contentUnreadable(event)) return <ErasedBadge what={what} unreadable />;
  return null;
}

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

export function Conversation({ id, me }: { id: string; me: Me | undefined }) {
  const filters = useFilters();
  const timeline = useQuery({
    queryKey: ['timeline', id],
    queryFn: async () =>
      unwrap(await client.GET('/v1/audit/conversations/{id}/timeline', { params: { path: { id } } })),
  });
  const status = useQuery({
    queryKey: ['status', id],
    queryFn: async () => unwrap(await client.GET('/v1/conversations/{id}', { params: { path: { id } } })),
    retry: false,
  });
  const policies = usePolicies();
  const tree = useMemo(() => (timeline.data ? buildTree(timeline.data.events) : undefined), [timeline.data]);

  return (
    <section className="conversation">
      <p className="back">
        <Link to={`/ends${queryOf(filters)}`}>← Ends</Link>
      </p>
      <h1>
        Conversation <code title={id}>{shortId(id)}</code>
      </h1>
      {timeline.error ? (
        <ErrorState error={timeline.error} what="the conversation" />
      ) : timeline.isPending || !tree ? (
        <Loading what="the conversation" />
      ) : (
        <ConversationBody
          id={id}
          tree={tree}
          events={timeline.data.events}
          chain={timeline.data.chain}
          activeLeaf={status.data?.activeLeafMessageId ?? newestMessage(tree)}
          statusText={status.data?.status}
          policies={policies.data?.items}
          me={me}
        />
      )}
    </section>
  );
}

function ConversationBody(props: {
  id: string;
  tree: Tree;
  events: EventDto[];
  chain: { valid: boolean; brokenAtVersion?: number; reason?: string };
  activeLeaf: string | undefined;
  statusText: string | undefined;
  policies: Policy[] | undefined;
  me: Me | undefined;
}) {
  const { tree, events, chain } = props;
  const path = activePath(tree, props.activeLeaf);
  const started = tree.started?.data ?? {};
  const latest = events[events.length - 1];
  const subject = subjectOf(tree);
  const lastErasure = tree.erasures[tree.erasures.length - 1];
  return (
    <>
      <dl className="facts conversation-facts">
        <dt>Tenant</dt>
        <dd>{str(started.tenantId) || '—'}</dd>
        <dt>Subject</dt>
        <dd>{subject ? <code>{subject.subjectId}</code> : '—'}</dd>
        <dt>Model</dt>
        <dd>{str(started.modelId) || '—'}</dd>
        <dt>Started</dt>
        <dd>
          <Time iso={tree.started?.occurredAt} />
        </dd>
        <dt>Status</dt>
        <dd>{props.statusText ?? (tree.ends.length ? 'ended' : 'active')}</dd>
        <dt>Events</dt>
        <dd>{events.length}</dd>
        <dt>Content</dt>
        <dd data-testid="content-state">
          {lastErasure ? (
            <>
              <span className="badge erased">erased</span> <Time iso={lastErasure.occurredAt} />
            </>
          ) : (
            'readable'
          )}
        </dd>
        <dt>Hash chain</dt>
        <dd>
          <span data-testid="chain-status" className={`badge ${chain.valid ? 'ok' : 'bad'}`}>
            {chain.valid
              ? 'valid'
              : `broken at version ${chain.brokenAtVersion ?? '?'}${chain.reason ? `: ${chain.reason}` : ''}`}
          </span>
        </dd>
      </dl>
      {latest && <ProofStatus events={events} />}

      <h2>Messages</h2>
      <p className="hint">
        Branches (edits) stand side by side; the active lineage is marked, other branches are dimmed.
      </p>
      {tree.roots.length === 0 ? (
        <Empty>No messages yet.</Empty>
      ) : (
        <div className="tree-scroll" role="region" aria-label="Message tree" tabIndex={0}>
          <div data-testid="message-tree" className="message-tree">
            {tree.roots.length === 1 ? (
              <Lineage start={tree.roots[0]} path={path} activeLeaf={props.activeLeaf} />
            ) : (
              <div className="branches">
                {tree.roots.map((r) => (
                  <div className="branch" key={r.id}>
                    <Lineage start={r} path={path} activeLeaf={props.activeLeaf} />
                  </div>
                ))}
              </div>
            )}
          </div>
        </div>
      )}
      {tree.unplaced.length > 0 && (
        <ul className="plain">
          {tree.unplaced.map((m) => (
            <li key={m.event.eventId}>
              <MarkItem mark={m} />
            </li>
          ))}
        </ul>
      )}

      <h2>Decisions and guards</h2>
      {tree.ends.length === 0 && tree.blocked.length === 0 ? (
        <Empty>No end and no blocked attempt in this conversation.</Empty>
      ) : (
        <div className="decisions">
          {tree.ends.map((e) => (
            <Decision key={e.eventId} event={e} policies={props.policies} blocked={false} />
          ))}
          {tree.blocked.map((e) => (
            <Decision key={e.eventId} event={e} policies={props.policies} blocked />
          ))}
        </div>
      )}

      <h2>Holds and erasures</h2>
      <HoldsAndErasures subject={subject} erasures={tree.erasures} />

      <h2>Reviews</h2>
      <Reviews tree={tree} />
      {tree.ends.length > 0 && <ReviewForm id={props.id} ends={tree.ends} me={props.me} policies={props.policies} />}

      <h2>Who looked</h2>
      <AccessList id={props.id} />
    </>
  );
}

/** A run of messages with one child each, then the children side by side. */
function Lineage({ start, path, activeLeaf }: { start: MessageNode; path: Set<string>; activeLeaf?: string }) {
  const run: MessageNode[] = [start];
  let node = start;
  while (node.children.length === 1) {
    node = node.children[0];
    run.push(node);
  }
  return (
    <div className="lineage">
      {run.map((m) => (
        <Message key={m.id} node={m} active={path.has(m.id)} leaf={m.id === activeLeaf} />
      ))}
      {node.children.length > 1 && (
        <div className="branches">
          {node.children.map((c) => (
            <div className={`branch ${path.has(c.id) ? 'branch-active' : ''}`} key={c.id}>
              <Lineage start={c} path={path} activeLeaf={activeLeaf} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

const LONG = 320;

function Message({ node, active, leaf }: { node: MessageNode; active: boolean; leaf: boolean }) {
  const [full, setFull] = useState(false);
  const missing = node.content === null;
  const erased = missing && !node.unreadable;
  const long = !missing && node.content!.length > LONG;
  return (
    <article
      data-testid="message"
      data-message-id={node.id}
      data-branch={active ? 'active' : 'inactive'}
      data-active-leaf={leaf ? 'true' : undefined}
      className={`message role-${node.role} ${active ? '' : 'inactive'} ${leaf ? 'leaf' : ''}`}
      data-content-erased={erased ? 'true' : undefined}
      data-content-unreadable={node.unreadable ? 'true' : undefined}
      aria-label={`${node.role} message${leaf ? ', active leaf' : ''}${active ? '' : ', on an inactive branch'}${
        erased ? ', content erased' : node.unreadable ? ', content unreadable' : ''
      }`}
    >
      <header>
        <span className="role">{node.role}</span>
        {node.modelId && <span className="model">{node.modelId}</span>}
        <Time iso={node.at} />
        {leaf && <span className="badge leaf-badge">active leaf</span>}
      </header>
      {erased ? (
        <p className="content content-erased" data-testid="message-erased" title={ERASED_WHY}>
          {ERASED_TEXT}
        </p>
      ) : node.unreadable ? (
        <p className="content content-unreadable" data-testid="message-unreadable" title={UNREADABLE_WHY}>
          {UNREADABLE_TEXT}
        </p>
      ) : (
        <p className="content">{long && !full ? `${node.content!.slice(0, LONG).trimEnd()}…` : node.content}</p>
      )}
      {long && (
        <button type="button" className="link-button" aria-expanded={full} onClick={() => setFull(!full)}>
          {full ? 'Show less' : 'Show all'}
        </button>
      )}
      {node.marks.length > 0 && (
        <ul className="marks">
          {node.marks.map((m) => (
            <li key={m.event.eventId}>
              <MarkItem mark={m} />
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

const MARK_LABEL: Record<string, string> = {
  redirection: 'Redirection',
  warning: 'Warning',
  'end-request': 'User asked to end',
  'risk-flag': 'Risk flag',
  'risk-cleared': 'Risk flag cleared',
  end: 'Ended here',
  blocked: 'End attempt blocked',
  feedback: 'Feedback',
  erasure: 'Content erased',
};

const ERASURE_SCOPE: Record<string, string> = {
  subject: 'erasure of the subject',
  retention: 'the tenant’s retention rule',
};

function MarkItem({ mark }: { mark: Mark }) {
  const d = mark.event.data;
  let detail = '';
  if (mark.kind === 'redirection') detail = str(d.harmCategory);
  else if (mark.kind === 'warning') detail = str(d.reasonCode);
  else if (mark.kind === 'risk-flag') detail = `${str(d.kind)} (${str(d.source)})`;
  else if (mark.kind === 'end') detail = `${str(d.reasonCode)} by ${str(d.initiator)}, policy v${str(d.policyVersion)}`;
  else if (mark.kind === 'blocked') {
    const failed = (d.failedGuards as string[] | undefined)?.join(', ');
    detail = `${str(d.proposedReasonCode)} by ${str(d.initiator)}: ${failed}`;
  } else if (mark.kind === 'feedback') detail = `${str(d.rating)}${d.comment ? `: ${str(d.comment)}` : ''}`;
  else if (mark.kind === 'erasure') {
    detail = `${ERASURE_SCOPE[str(d.scope)] ?? str(d.scope)}, “${str(d.reason)}”, by ${erasureActor(d)}`;
  }
  return (
    <span
      className={`mark mark-${mark.kind}`}
      data-testid={mark.kind === 'end' ? 'end-point' : `mark-${mark.kind}`}
      data-event-id={mark.event.eventId}
    >
      <strong>{MARK_LABEL[mark.kind] ?? mark.kind}</strong>
      {detail && <span>: {detail}</span>} <Time iso={mark.event.occurredAt} />
      {(contentErased(mark.event) || contentUnreadable(mark.event)) && ' '}
      <TextState event={mark.event} what={mark.kind === 'feedback' ? 'comment' : 'note'} />
    </span>
  );
}

function Decision({ event, policies, blocked }: { event: EventDto; policies?: Policy[]; blocked: boolean }) {
  const d = event.data;
  const version = Number(d.policyVersion);
  const policy = policies?.find((p) => p.version === version);
  const failed = new Set((d.failedGuards as string[] | undefined) ?? []);
  const guards = policy?.guards ?? [...failed].map((g) => ({ guard: g, rule: '' }));
  return (
    <article className={`decision ${blocked ? 'decision-blocked' : 'decision-end'}`} data-event-id={event.eventId}>
      <h3>
        {blocked ? 'Blocked attempt' : 'End'}: <code>{str(blocked ? d.proposedReasonCode : d.reasonCode)}</code> by{' '}
        {str(d.initiator)} · policy v{version} · <Time iso={event.occurredAt} />
      </h3>
      {!blocked && d.explanation ? <p>Explanation: {str(d.explanation)}</p> : null}
      {!blocked && (contentErased(event) || contentUnreadable(event)) && (
        <p>
          Explanation: <TextState event={event} what="explanation" />
        </p>
      )}
      {!policy && <p className="hint">The rule texts of policy version {version} are not available.</p>}
      <ul className="guards">
        {guards.map((g) => {
          const held = !failed.has(g.guard);
          return (
            <li key={g.guard} data-testid="guard" data-guard={g.guard} data-held={held ? 'true' : 'false'}>
              <span className={`badge ${held ? 'ok' : 'bad'}`}>{held ? 'held' : 'failed'}</span> <code>{g.guard}</code>
              {g.rule && <span className="rule"> {g.rule}</span>}
            </li>
          );
        })}
      </ul>
      <p className="hint">
        Recorded by key <code>{shortId(str(event.metadata.apiKeyId)) || '—'}</code>
        {event.metadata.apiKeyHolder ? ` (${str(event.metadata.apiKeyHolder)})` : ''}.
      </p>
    </article>
  );
}

function Reviews({ tree }: { tree: Tree }) {
  if (tree.reviews.length === 0) return <Empty>No review yet.</Empty>;
  return (
    <ul className="plain reviews">
      {tree.reviews.map((r) => (
        <li key={r.eventId} data-testid="review" className="review">
          <span className={`badge review-${str(r.data.outcome)}`}>{str(r.data.outcome)}</span>
          {r.data.newReasonCode ? (
            <span>
              {' '}
              as <code>{str(r.data.newReasonCode)}</code>
            </span>
          ) : null}{' '}
          by <code>{shortId(str(r.metadata.apiKeyId ?? r.data.reviewerId))}</code>
          {r.metadata.apiKeyHolder ? ` (${str(r.metadata.apiKeyHolder)})` : ''}, <Time iso={r.recordedAt} />
          {r.data.note ? <q className="note">{str(r.data.note)}</q> : null}
          {(contentErased(r) || contentUnreadable(r)) && ' '}
          <TextState event={r} what="note" />
        </li>
      ))}
    </ul>
  );
}

function ReviewForm({ id, ends, me, policies }: { id: string; ends: EventDto[]; me?: Me; policies?: Policy[] }) {
  const queryClient = useQueryClient();
  const [endId, setEndId] = useState(ends[ends.length - 1].eventId);
  const [outcome, setOutcome] = useState<'upheld' | 'overturned' | 'reclassified'>('upheld');
  const [newReason, setNewReason] = useState('');
  const [note, setNote] = useState('');
  const [errorType, setErrorType] = useState('');
  const end = ends.find((e) => e.eventId === endId) ?? ends[ends.length - 1];
  const own = recordedBy(end, me?.keyId);
  const codes = [...new Set((policies ?? []).flatMap((p) => p.reasonCodes.map((r) => r.code)))].sort();
  const review = useMutation({
    mutationFn: async () => {
      const result = unwrap(
        await client.POST('/v1/audit/conversations/{id}/reviews', {
          params: { path: { id } },
          body: {
            endEventId: end.eventId,
            outcome,
            ...(outcome === 'reclassified' ? { newReasonCode: newReason } : {}),
            ...(outcome !== 'upheld' && errorType ? { errorType: errorType as ErrorType } : {}),
            ...(note.trim() ? { note: note.trim() } : {}),
          },
        }),
      );
      // The lists read projections: wait until they processed the review, then read again.
      await client.GET('/v1/audit/ends', { params: { query: { waitFor: result.position, limit: 1 } } });
      return result;
    },
    onSuccess: async () => {
      setNote('');
      await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'me' && q.queryKey[0] !== 'policies' });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    review.mutate();
  };
  const error = review.error;
  const refusal =
    error instanceof ApiError && error.code === 'SELF_REVIEW'
      ? SELF_REVIEW_TEXT
      : error instanceof ApiError
        ? `${error.problem?.detail ?? `the service answered ${error.status}`}${error.code ? ` (${error.code})` : ''}`
        : error
          ? String(error)
          : null;
  return (
    <form className="review-form" onSubmit={submit} aria-label="Review an end">
      <h3>Review</h3>
      {ends.length > 1 && (
        <div className="field">
          <label htmlFor="review-end">End</label>
          <select id="review-end" value={endId} onChange={(e) => setEndId(e.target.value)}>
            {ends.map((e) => (
              <option key={e.eventId} value={e.eventId}>
                {str(e.data.reasonCode)} at version {e.version}
              </option>
            ))}
          </select>
        </div>
      )}
      {own && (
        <p className="state state-notice" id="review-own">
          {SELF_REVIEW_TEXT}
        </p>
      )}
      <fieldset disabled={own || review.isPending} aria-describedby={own ? 'review-own' : undefined}>
        <div className="field">
          <label htmlFor="review-outcome">Outcome</label>
          <select id="review-outcome" value={outcome} onChange={(e) => setOutcome(e.target.value as typeof outcome)}>
            <option value="upheld">upheld</option>
            <option value="overturned">overturned</option>
            <option value="reclassified">reclassified</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="review-reason">New reason code</label>
          <select
            id="review-reason"
            value={newReason}
            disabled={outcome !== 'reclassified'}
            required={outcome === 'reclassified'}
            onChange={(e) => setNewReason(e.target.value)}
          >
            <option value="">—</option>
            {codes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="review-error-type">Error type</label>
          <select
            id="review-error-type"
            value={errorType}
            disabled={outcome === 'upheld'}
            onChange={(e) => setErrorType(e.target.value)}
          >
            <option value="">—</option>
            <option value="false_positive">false positive</option>
            <option value="wrong_reason">wrong reason</option>
            <option value="technical">technical</option>
          </select>
        </div>
        <div className="field field-wide">
          <label htmlFor="review-note">Note</label>
          <textarea id="review-note" rows={3} value={note} onChange={(e) => setNote(e.target.value)} />
        </div>
        <button type="submit">Submit review</button>
      </fieldset>
      {refusal && (
        <div role="alert" className="state state-error">
          {refusal}
        </div>
      )}
      {review.isSuccess && (
        <p role="status" className="state state-ok">
          Review recorded.
        </p>
      )}
    </form>
  );
}

function AccessList({ id }: { id: string }) {
  const access = useQuery({
    queryKey: ['access', id],
    queryFn: async () =>
      unwrap(await client.GET('/v1/audit/access', { params: { query: { conversationId: id, limit: 100 } } })),
  });
  if (access.error) return <ErrorState error={access.error} what="who looked" />;
  if (access.isPending) return <Loading what="who looked" />;
  if (access.data.items.length === 0) return <Empty>Nobody read this conversation’s content yet.</Empty>;
  return (
    <TableRegion label="Who looked">
      <table className="list">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Key</th>
            <th scope="col">Role</th>
            <th scope="col">Route</th>
            <th scope="col">Request</th>
          </tr>
        </thead>
        <tbody>
          {access.data.items.map((a) => (
            <tr key={a.eventId} data-testid="access-entry">
              <td>
                <Time iso={a.at} />
              </td>
              <td>
                <code title={a.keyId}>{shortId(a.keyId)}</code>
              </td>
              <td>{a.role}</td>
              <td>
                <code>{a.route}</code>
              </td>
              <td>
                <code>{a.requestId}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {access.data.nextCursor && <p className="hint">Showing the first 100 reads.</p>}
    </TableRegion>
  );
}
