import { abusiveThread, ended, history, reviewed, specification, started, user } from '../test/conversation-fixtures';
import type { ReviewEndDecision, SubmitFeedback } from './commands';
import { decide } from './decide';
import { asReasonCode } from './reason-codes';

const spec = specification();
/** Events 1..10, then the end at u4 is evt-11. */
const endedThread = () => history(...abusiveThread(), ended('u4'));

const review = (data: Partial<ReviewEndDecision['data']> = {}): ReviewEndDecision => ({
  type: 'ReviewEndDecision',
  data: { reviewId: 'review-1', reviewerId: 'auditor-1', endEventId: 'evt-11', outcome: 'upheld', ...data },
});

const feedback = (data: SubmitFeedback['data']): SubmitFeedback => ({ type: 'SubmitFeedback', data });

describe(decide.name, () => {
  describe('when feedback is submitted', () => {
    it('accepts feedback on a message of an ended lineage', () => {
      spec
        .given(endedThread())
        .when(feedback({ messageId: 'u4', rating: 'down', comment: 'I was only joking' }))
        .then([{ type: 'FeedbackSubmitted', data: { messageId: 'u4', rating: 'down', comment: 'I was only joking' } }]);
    });

    it('accepts feedback on the whole conversation', () => {
      spec
        .given(history(started()))
        .when(feedback({ rating: 'up' }))
        .then([{ type: 'FeedbackSubmitted', data: { rating: 'up' } }]);
    });

    it('refuses an unknown message', () => {
      spec
        .given(history(started(), user('u1', null)))
        .when(feedback({ messageId: 'ghost', rating: 'up' }))
        .thenThrows('UNKNOWN_MESSAGE');
    });

    it('refuses an unknown rating', () => {
      spec
        .given(history(started()))
        .when(feedback({ rating: 'meh' as never }))
        .thenThrows('VALIDATION_FAILED');
    });
  });

  describe('when an end is reviewed', () => {
    it('records an upheld end', () => {
      spec
        .given(endedThread())
        .when(review({ note: 'clear abuse' }))
        .then([reviewed('evt-11', 'upheld', 'review-1', { note: 'clear abuse' })]);
    });

    it('records an overturned end with its error type', () => {
      spec
        .given(endedThread())
        .when(review({ outcome: 'overturned', errorType: 'false_positive' }))
        .then([reviewed('evt-11', 'overturned', 'review-1', { errorType: 'false_positive' })]);
    });

    it('records a reclassification with the new reason code', () => {
      spec
        .given(endedThread())
        .when(
          review({
            outcome: 'reclassified',
            newReasonCode: 'HATE_OR_HARASSMENT_GENERATION',
            errorType: 'wrong_reason',
          }),
        )
        .then([
          reviewed('evt-11', 'reclassified', 'review-1', {
            newReasonCode: 'HATE_OR_HARASSMENT_GENERATION',
            errorType: 'wrong_reason',
          }),
        ]);
    });

    // Reviews look back: the code of any policy version is fine (the API checks it is one).
    it('records a reclassification to a code version 1 does not declare', () => {
      spec
        .given(endedThread())
        .when(review({ outcome: 'reclassified', newReasonCode: asReasonCode('SPAM_FLOOD') }))
        .then([reviewed('evt-11', 'reclassified', 'review-1', { newReasonCode: asReasonCode('SPAM_FLOOD') })]);
    });

    it('refuses a new reason code that is not a code word', () => {
      spec
        .given(endedThread())
        .when(review({ outcome: 'reclassified', newReasonCode: 'spam flood' as never }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'newReasonCode' } });
    });

    it('accepts a second review of the same end', () => {
      spec
        .given(history(...abusiveThread(), ended('u4'), reviewed('evt-11', 'upheld', 'review-1')))
        .when(review({ reviewId: 'review-2', outcome: 'overturned', errorType: 'technical' }))
        .then([reviewed('evt-11', 'overturned', 'review-2', { errorType: 'technical' })]);
    });

    it('refuses an end that is not one of this conversation', () => {
      spec
        .given(endedThread())
        .when(review({ endEventId: 'evt-10' }))
        .thenThrows({ code: 'UNKNOWN_END', details: { endEventId: 'evt-10' } });
    });

    it('refuses a reclassification without a new reason code', () => {
      spec
        .given(endedThread())
        .when(review({ outcome: 'reclassified' }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'newReasonCode' } });
    });

    it('refuses a reclassification to the reason the end already has', () => {
      spec
        .given(endedThread())
        .when(review({ outcome: 'reclassified', newReasonCode: 'ABUSE_OF_ASSISTANT' }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'newReasonCode' } });
    });

    it.each(['upheld', 'overturned'] as const)('refuses a new reason code on an %s review', (outcome) => {
      spec
        .given(endedThread())
        .when(review({ outcome, newReasonCode: 'VIOLENT_EXTREMISM' }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'newReasonCode' } });
    });

    it('refuses an error type on an upheld end', () => {
      spec
        .given(endedThread())
        .when(review({ errorType: 'technical' }))
        .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'errorType' } });
    });

    it('refuses a review id used before', () => {
      spec
        .given(history(...abusiveThread(), ended('u4'), reviewed('evt-11', 'upheld', 'review-1')))
        .when(review())
        .thenThrows('DUPLICATE_REVIEW');
    });
  });
});
