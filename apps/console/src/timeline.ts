// The conversation's events as a message tree: every event that concerns a message is placed on it.
import type { EventDto } from './api';

export type MarkKind =
  | 'redirection'
  | 'warning'
  | 'end-request'
  | 'risk-flag'
  | 'risk-cleared'
  | 'end'
  | 'blocked'
  | 'feedback'
  | 'review'
  | 'erasure';

export interface Mark {
  kind: MarkKind;
  event: EventDto;
}

export interface MessageNode {
  id: string;
  parentId: string | null;
  role: string;
  /** The message's text; null when its content key is destroyed (erased) or it does not decrypt (unreadable). */
  content: string | null;
  /** Its text does not decrypt (altered stored form, or a master key missing): not erased, unreadable. */
  unreadable?: true;
  modelId?: string;
  at: string;
  version: number;
  children: MessageNode[];
  marks: Mark[];
}

export interface Tree {
  roots: MessageNode[];
  byId: Map<string, MessageNode>;
  ends: EventDto[];
  blocked: EventDto[];
  reviews: EventDto[];
  /** The ContentErased events: who erased the conversation's content, when, why (no content). */
  erasures: EventDto[];
  /** Events that concern the conversation but no message (e.g. a flag before the first message). */
  unplaced: Mark[];
  started?: EventDto;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** True when some sealed field of the event reads as erased (its content key is destroyed). */
export const contentErased = (event: EventDto): boolean => event.contentErased === true;

/** True when some sealed field of the event does not decrypt (it reads null, and is not erased). */
export const contentUnreadable = (event: EventDto): boolean => event.contentUnreadable === true;

/** Who erased, from a ContentErased event's data: an operator's key (its first 8 characters) or the system. */
export function erasureActor(data: Record<string, unknown>): string {
  const actor = (data.actor ?? {}) as { type?: unknown; id?: unknown };
  const type = text(actor.type) ?? 'unknown';
  const id = text(actor.id);
  return id ? `${type} ${type === 'system' ? id : id.slice(0, 8)}` : type;
}

/** The subject and tenant of the conversation, from its ConversationStarted (undefined before it). */
export function subjectOf(tree: Tree): { subjectId: string; tenantId: string } | undefined {
  const d = tree.started?.data;
  const subjectId = text(d?.subjectId);
  const tenantId = text(d?.tenantId);
  return subjectId && tenantId ? { subjectId, tenantId } : undefined;
}

export function buildTree(events: EventDto[]): Tree {
  const tree: Tree = { roots: [], byId: new Map(), ends: [], blocked: [], reviews: [], erasures: [], unplaced: [] };
  let newest: MessageNode | undefined;
  const place = (messageId: string | undefined, mark: Mark) => {
    const node = (messageId && tree.byId.get(messageId)) || (messageId ? undefined : newest);
    if (node) node.marks.push(mark);
    else tree.unplaced.push(mark);
  };
  for (const event of events) {
    const d = event.data;
    switch (event.type) {
      case 'ConversationStarted':
        tree.started = event;
        break;
      case 'MessageAppended': {
        const node: MessageNode = {
          id: String(d.messageId),
          parentId: text(d.parentMessageId) ?? null,
          role: String(d.role),
          content:
            (contentErased(event) || contentUnreadable(event)) && typeof d.content !== 'string'
              ? null
              : String(d.content ?? ''),
          ...(contentUnreadable(event) && typeof d.content !== 'string' ? { unreadable: true as const } : {}),
          modelId: text(d.modelId),
          at: event.occurredAt,
          version: event.version,
          children: [],
          marks: [],
        };
        tree.byId.set(node.id, node);
        const parent = node.parentId ? tree.byId.get(node.parentId) : undefined;
        if (parent) parent.children.push(node);
        else tree.roots.push(node);
        newest = node;
        break;
      }
      case 'RedirectionAttempted':
        place(text(d.messageId), { kind: 'redirection', event });
        break;
      case 'WarningIssued':
        place(text(d.messageId), { kind: 'warning', event });
        break;
      case 'EndRequestedByUser':
        place(text(d.messageId), { kind: 'end-request', event });
        break;
      case 'SafetyRiskFlagged':
        place(undefined, { kind: 'risk-flag', event });
        break;
      case 'SafetyRiskCleared':
        place(undefined, { kind: 'risk-cleared', event });
        break;
      case 'ConversationEnded':
        tree.ends.push(event);
        place(text(d.endedAtMessageId), { kind: 'end', event });
        break;
      case 'EndAttemptBlocked':
        tree.blocked.push(event);
        place(text(d.atMessageId), { kind: 'blocked', event });
        break;
      case 'FeedbackSubmitted':
        if (text(d.messageId)) place(text(d.messageId), { kind: 'feedback', event });
        else tree.unplaced.push({ kind: 'feedback', event });
        break;
      case 'EndDecisionReviewed':
        tree.reviews.push(event);
        break;
      case 'ContentErased':
        // The conversation's, not a message's: listed with the events that concern no message.
        tree.erasures.push(event);
        tree.unplaced.push({ kind: 'erasure', event });
        break;
      default:
        break;
    }
  }
  return tree;
}

/** The ids from the active leaf up to its root (the active lineage). */
export function activePath(tree: Tree, activeLeafId: string | null | undefined): Set<string> {
  const path = new Set<string>();
  let node = activeLeafId ? tree.byId.get(activeLeafId) : undefined;
  while (node && !path.has(node.id)) {
    path.add(node.id);
    node = node.parentId ? tree.byId.get(node.parentId) : undefined;
  }
  return path;
}

/** The newest message appended (the active leaf when the service does not say). */
export function newestMessage(tree: Tree): string | undefined {
  let best: MessageNode | undefined;
  for (const node of tree.byId.values()) if (!best || node.version > best.version) best = node;
  return best?.id;
}

/** True when the event was recorded with this API key (separation of duties: its recorder may not review it). */
export function recordedBy(event: EventDto, keyId: string | undefined): boolean {
  const recorder = event.metadata.apiKeyId;
  return !!keyId && typeof recorder === 'string' && recorder.toLowerCase() === keyId.toLowerCase();
}
