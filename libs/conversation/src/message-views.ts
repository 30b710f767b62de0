import { ConversationError } from './errors';
import { lineagePath } from './lineage';
import type { ConversationState, MessageNode } from './state';
import type { MessageRole, StopReason } from './vocabulary';

export interface MessageView {
  messageId: string;
  parentMessageId: string | null;
  role: MessageRole;
  /** null: erased (its key destroyed) or unreadable (it does not decrypt). */
  content: string | null;
  modelId?: string;
  stopReason?: StopReason;
  /** The MessageAppended event's occurredAt. */
  createdAt: string;
  version: number;
}

const toView = (node: MessageNode): MessageView => {
  const { childIds: _children, index: _index, ...view } = node;
  return view;
};

/** The lineage through `leafId`, root first. Throws UNKNOWN_MESSAGE for an unknown id. */
export const lineageMessages = (state: ConversationState, leafId: string): MessageView[] => {
  if (!state.messages[leafId]) {
    throw new ConversationError('UNKNOWN_MESSAGE', `Message ${leafId} is not in this conversation`, {
      messageId: leafId,
    });
  }
  return lineagePath(state, leafId).map((id) => toView(state.messages[id]!));
};

/** The active lineage (through the newest message), root first; empty before any message. */
export const activeLineageMessages = (state: ConversationState): MessageView[] =>
  state.activeLeafMessageId === null ? [] : lineageMessages(state, state.activeLeafMessageId);

/** The whole tree, in append order. */
export const allMessages = (state: ConversationState): MessageView[] =>
  state.messageOrder.map((id) => toView(state.messages[id]!));
