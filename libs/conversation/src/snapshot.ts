import { idMap } from './evolve';
import type { ConversationState, MessageNode } from './state';
import type { MessageRole, StopReason } from './vocabulary';

/**
 * One message of a snapshot, without its content: id, parent, role, createdAt, version, and
 * for assistant messages modelId and stopReason (null when absent).
 */
export type SnapshotMessage =
  | readonly [messageId: string, parentMessageId: string | null, role: MessageRole, createdAt: string, version: number]
  | readonly [
      messageId: string,
      parentMessageId: string | null,
      role: MessageRole,
      createdAt: string,
      version: number,
      modelId: string | null,
      stopReason: StopReason | null,
    ];

/**
 * The version of the snapshot's shape. Bump it with any change to what toSnapshot writes or
 * fromSnapshot reads (a field of ConversationState included): stored snapshots of another
 * version are ignored and rebuilt from the stream, never misread. snapshot-schema.spec.ts
 * fails when the shape changes under the same version.
 */
export const CONVERSATION_SNAPSHOT_SCHEMA = 2;

/**
 * The last snapshot point at or before a stream version: where a stream's snapshot is taken
 * again. Multiples of `every` below 16 × `every` events, then of a spacing that doubles with
 * the stream, between a sixteenth and an eighth of it. So a long conversation's snapshot (about
 * 100 bytes per message: 1 MB at 10,000) is rewritten ever more rarely (at 10,000 events with
 * `every` 100, every 800 events: what the writes cost per event stays about the same as the stream
 * grows), and a state loaded from its snapshot folds at most an eighth of its stream (or
 * `every` events) from the log. A function of the version alone: whatever the batches or
 * commands a stream was folded in, the same points.
 */
export function snapshotPointAtOrBefore(version: number, every: number): number {
  const doublings = Math.max(0, Math.floor(Math.log2(version / (8 * every))));
  const spacing = every * 2 ** doublings;
  return Math.floor(version / spacing) * spacing;
}

/**
 * A conversation state to store and fold on from later: the messages as a list in append
 * order, without their content and without what the list already says (children, index,
 * append order, roots). About a third of the state's JSON. Its ends' explanations, cleared
 * flags' notes and reviews' notes are as the stored events hold them: sealed envelopes (plain
 * text only for events written before encryption), so a destroyed key leaves nothing readable.
 */
export interface ConversationSnapshot extends Omit<ConversationState, 'messages' | 'messageOrder' | 'rootMessageIds'> {
  readonly messages: readonly SnapshotMessage[];
}

export const toSnapshot = (state: ConversationState): ConversationSnapshot => {
  const { messages, messageOrder, rootMessageIds: _roots, ...rest } = state;
  return {
    ...rest,
    messages: messageOrder.map((id): SnapshotMessage => {
      const { messageId, parentMessageId, role, createdAt, version, modelId, stopReason } = messages[id];
      return modelId === undefined && stopReason === undefined
        ? [messageId, parentMessageId, role, createdAt, version]
        : [messageId, parentMessageId, role, createdAt, version, modelId ?? null, stopReason ?? null];
    }),
  };
};

/** The state a snapshot was taken of, every message's content empty. */
export const fromSnapshot = (snapshot: ConversationSnapshot): ConversationState => {
  const { messages: list, ...rest } = snapshot;
  const messages = idMap<MessageNode & { childIds: string[] }>();
  const messageOrder: string[] = [];
  const rootMessageIds: string[] = [];
  list.forEach(([messageId, parentMessageId, role, createdAt, version, modelId, stopReason], index) => {
    const parent = parentMessageId === null ? undefined : messages[parentMessageId];
    if (parent) parent.childIds.push(messageId);
    else if (parentMessageId === null) rootMessageIds.push(messageId);
    const node: MessageNode & { childIds: string[]; modelId?: string; stopReason?: StopReason } = {
      messageId,
      parentMessageId,
      role,
      content: '',
      childIds: [],
      index,
      createdAt,
      version,
    };
    if (modelId != null) node.modelId = modelId;
    if (stopReason != null) node.stopReason = stopReason;
    messages[messageId] = node;
    messageOrder.push(messageId);
  });
  return { ...rest, messages, messageOrder, rootMessageIds };
};
