// The subject's legal holds (open and released: reason, who, when) and the conversation's erasures (the
// ContentErased events: scope, reason, actor, when, keys destroyed; never content). Read only.
import { useQuery } from '@tanstack/react-query';
import { client, unwrap, type EventDto, type Schemas } from '../api';
import { Empty, ErrorState, Loading } from '../components/states';
import { Time, shortId } from '../format';

export type Hold = Schemas['HoldsDto']['items'][number];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A key id as its first 8 characters (the whole id in the title); any other name as it is. */
function Who({ id }: { id: string | null | undefined }) {
  if (!id) return <span>—</span>;
  return UUID.test(id) ? <code title={id}>{shortId(id)}</code> : <code>{id}</code>;
}

const SCOPE: Record<string, string> = {
  subject: 'subject erasure',
  retention: 'retention',
};

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

export function HoldsAndErasures(props: {
  subject: { subjectId: string; tenantId: string } | undefined;
  erasures: EventDto[];
}) {
  return (
    <div className="holds-erasures" data-testid="holds-and-erasures">
      <h3>Legal holds</h3>
      {props.subject ? (
        <Holds subjectId={props.subject.subjectId} tenantId={props.subject.tenantId} />
      ) : (
        <Empty>The conversation names no subject.</Empty>
      )}
      <h3>Erasures</h3>
      <Erasures erasures={props.erasures} />
    </div>
  );
}

function Holds({ subjectId, tenantId }: { subjectId: string; tenantId: string }) {
  const holds = useQuery({
    queryKey: ['holds', tenantId, subjectId],
    // Every page: the count of open holds (and "none open") must be the whole list's.
    queryFn: async () => {
      const items = [];
      let cursor: string | undefined;
      do {
        const page = unwrap(
          await client.GET('/v1/subjects/{subjectId}/holds', {
            params: { path: { subjectId }, query: { tenantId, limit: 500, cursor } },
          }),
        );
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return { items };
    },
  });
  if (holds.error) return <ErrorState error={holds.error} what="the subject’s legal holds" />;
  if (holds.isPending) return <Loading what="the subject’s legal holds" />;
  const items = holds.data.items;
  if (items.length === 0) {
    return (
      <Empty>
        No legal hold on subject <code>{subjectId}</code>: erasure and retention may erase its content.
      </Empty>
    );
  }
  const open = items.filter((h) => !h.releasedAt).length;
  return (
    <>
      <p className="hint">
        {open > 0
          ? `${open} open: erasure and retention leave subject ${subjectId}’s content alone while a hold is open.`
          : `None open: erasure and retention may erase subject ${subjectId}’s content.`}
      </p>
      <ul className="plain holds">
        {items.map((h) => (
          <li
            key={h.holdId}
            data-testid="hold"
            data-hold-id={h.holdId}
            data-state={h.releasedAt ? 'released' : 'open'}
            className="hold"
          >
            <HoldState released={!!h.releasedAt} /> <q className="reason">{h.reason}</q>
            <span className="who">
              placed by <Who id={h.placedBy} />, <Time iso={h.placedAt} />
              {h.releasedAt && (
                <>
                  ; released by <Who id={h.releasedBy} />, <Time iso={h.releasedAt} />
                </>
              )}
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}

function HoldState({ released }: { released: boolean }) {
  return <span className={`badge ${released ? 'released' : 'warn'}`}>{released ? 'released' : 'open'}</span>;
}

function Erasures({ erasures }: { erasures: EventDto[] }) {
  if (erasures.length === 0) return <Empty>This conversation’s content was never erased.</Empty>;
  return (
    <ul className="plain erasures">
      {erasures.map((e) => {
        const d = e.data;
        const actor = (d.actor ?? {}) as { type?: unknown; id?: unknown };
        const keys = Array.isArray(d.keyIds) ? d.keyIds.length : 0;
        const plaintext = Number(d.plaintextFields ?? 0);
        return (
          <li key={e.eventId} data-testid="erasure" data-event-id={e.eventId} data-scope={str(d.scope)}>
            <span className="badge erased">{SCOPE[str(d.scope)] ?? str(d.scope)}</span>{' '}
            <q className="reason">{str(d.reason)}</q>
            <span className="who">
              by {str(actor.type) || 'unknown'} <Who id={str(actor.id)} />, <Time iso={e.occurredAt} />
            </span>
            <span className="hint">
              {keys === 1 ? '1 content key destroyed' : `${keys} content keys destroyed`}
              {plaintext > 0
                ? `; ${plaintext} field${plaintext === 1 ? '' : 's'} stored before encryption could not be erased`
                : ''}
              . Erasure <code title={str(d.erasureId)}>{shortId(str(d.erasureId))}</code>, version {e.version}.
            </span>
          </li>
        );
      })}
    </ul>
  );
}
