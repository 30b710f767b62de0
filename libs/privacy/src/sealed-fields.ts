import { type DomainEventType, fieldOf } from '@app/conversation';

/**
 * The free-text fields that can carry personal data (DOMAIN.md, "Erasure and holds"): stored
 * encrypted, destroyed with their conversation's key. The one list: writers seal these, readers
 * open these, and nothing else of an event is ever encrypted (ids, codes, guards, times and
 * actors stay readable, so the record of who ended what, why and under which policy survives).
 */
export const SEALED_FIELDS: Readonly<Partial<Record<DomainEventType, readonly string[]>>> = Object.freeze({
  MessageAppended: [fieldOf('MessageAppended', 'content')],
  ConversationEnded: [fieldOf('ConversationEnded', 'explanation')],
  SafetyRiskCleared: [fieldOf('SafetyRiskCleared', 'note')],
  FeedbackSubmitted: [fieldOf('FeedbackSubmitted', 'comment')],
  EndDecisionReviewed: [fieldOf('EndDecisionReviewed', 'note')],
});

/** The sealed fields of an event type (none for most). */
export const sealedFieldsOf = (type: string): readonly string[] =>
  (SEALED_FIELDS as Record<string, readonly string[] | undefined>)[type] ?? [];
