import {
  invalid,
  requireMessage,
  requireOneOf,
  requireOptionalString,
  requireReasonCode,
  requireStarted,
  requireText,
} from './command-checks';
import type { ReviewEndDecision, SubmitFeedback } from './commands';
import { compact } from './compact';
import { ConversationError } from './errors';
import type { EndDecisionReviewed, FeedbackSubmitted } from './events';
import type { ConversationState } from './state';
import { ERROR_TYPES, RATINGS, REVIEW_OUTCOMES } from './vocabulary';

// Feedback and reviews look back at what happened: both are accepted on ended lineages.

export const submitFeedback = ({ data }: SubmitFeedback, state: ConversationState): FeedbackSubmitted[] => {
  requireStarted(state);
  requireOneOf(RATINGS, data.rating, 'rating');
  requireOptionalString(data.comment, 'comment');
  if (data.messageId !== undefined) requireMessage(state, data.messageId, 'messageId');
  const { messageId, rating, comment } = data;
  return [{ type: 'FeedbackSubmitted', data: compact({ messageId, rating, comment }) }];
};

export const reviewEndDecision = ({ data }: ReviewEndDecision, state: ConversationState): EndDecisionReviewed[] => {
  requireStarted(state);
  requireText(data.reviewId, 'reviewId');
  requireText(data.reviewerId, 'reviewerId');
  requireOneOf(REVIEW_OUTCOMES, data.outcome, 'outcome');
  if (data.errorType !== undefined) requireOneOf(ERROR_TYPES, data.errorType, 'errorType');
  requireOptionalString(data.note, 'note');
  if (data.outcome === 'reclassified') requireReasonCode(data.newReasonCode, 'newReasonCode');
  else if (data.newReasonCode !== undefined)
    throw invalid('newReasonCode', 'newReasonCode is only for a reclassified end');
  if (data.outcome === 'upheld' && data.errorType !== undefined)
    throw invalid('errorType', 'An upheld end has no errorType');

  const end = state.ends.find((candidate) => candidate.endEventId === data.endEventId);
  if (!end) {
    throw new ConversationError('UNKNOWN_END', `End ${data.endEventId} is not an end of this conversation`, {
      endEventId: data.endEventId,
    });
  }
  if (data.outcome === 'reclassified' && data.newReasonCode === end.reasonCode)
    throw invalid('newReasonCode', 'A reclassification needs a reason code other than the one the end recorded');
  if (state.reviews.some((review) => review.reviewId === data.reviewId)) {
    throw new ConversationError('DUPLICATE_REVIEW', `Review ${data.reviewId} already exists`, {
      reviewId: data.reviewId,
    });
  }

  const { reviewId, reviewerId, endEventId, outcome, newReasonCode, errorType, note } = data;
  return [
    {
      type: 'EndDecisionReviewed',
      data: compact({ reviewId, reviewerId, endEventId, outcome, newReasonCode, errorType, note }),
    },
  ];
};
