import { DatabaseError } from 'pg';
import { ConversationBusy, ConversationNotFound, ConversationTooLarge, StaleVersion } from '@app/application';
import { CONVERSATION_ERROR_CODES, ConversationError } from '@app/conversation';
import { IdempotencyKeyReused, VersionConflict } from '@app/event-store';
import { HoldAlreadyReleased, LegalHoldOpen, UnknownHold } from '@app/privacy';
import { toProblem } from './error-mapping';

const pgError = (code: string, message = 'server text naming db-host-7') =>
  Object.assign(new DatabaseError(message, 0, 'error'), { code });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.7:5432`), { code });

describe(toProblem.name, () => {
  it.each([
    [pgError('57014'), 'DATABASE_TIMEOUT'],
    [pgError('55P03'), 'DATABASE_TIMEOUT'],
    [pgError('25P03'), 'DATABASE_TIMEOUT'],
    [pgError('57P01'), 'DATABASE_UNAVAILABLE'],
    [pgError('57P03'), 'DATABASE_UNAVAILABLE'],
    [pgError('53300'), 'DATABASE_UNAVAILABLE'],
    [pgError('53100'), 'DATABASE_UNAVAILABLE'], // disk full: the data files cannot grow
    [pgError('40001'), 'DATABASE_UNAVAILABLE'], // a replica's read cancelled by a conflict with recovery
    [pgError('08006'), 'DATABASE_UNAVAILABLE'],
    [socketError('ECONNREFUSED'), 'DATABASE_UNAVAILABLE'],
    [new Error('timeout exceeded when trying to connect'), 'DATABASE_UNAVAILABLE'],
    [new Error('Connection terminated unexpectedly'), 'DATABASE_UNAVAILABLE'],
  ])('answers %s as 503 %s with Retry-After, without the server’s words', (err, code) => {
    const { problem, retryAfterSeconds, unexpected } = toProblem(err);
    expect(problem).toMatchObject({ status: 503, code });
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(unexpected).toBe(true);
    expect(problem.detail).not.toMatch(/db-host|10\.0\.0\.7|ECONN/);
  });

  it('leaves other database errors as unexpected 500s', () => {
    expect(toProblem(pgError('23505')).problem).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(toProblem(socketError('EACCES')).problem.status).toBe(500);
  });
});

describe('problems of refused commands', () => {
  it.each([
    ['VALIDATION_FAILED', 400],
    ['NOT_FOUND', 404],
    ['UNKNOWN_MESSAGE', 422],
    ['UNKNOWN_END', 422],
    ['CONVERSATION_EXISTS', 409],
    ['DUPLICATE_MESSAGE', 409],
    ['LINEAGE_ENDED', 409],
    ['ALREADY_RECORDED', 409],
    ['DUPLICATE_FLAG', 409],
    ['FLAG_ALREADY_CLEARED', 409],
    ['DUPLICATE_REVIEW', 409],
    ['SELF_REVIEW', 409],
  ] as const)('answers the domain code %s with %d, its details kept', (code, status) => {
    const { problem, unexpected } = toProblem(new ConversationError(code, 'refused', { messageId: 'm' }));
    const type = `/problems/${code.toLowerCase().replace(/_/g, '-')}`;
    expect(problem).toMatchObject({ status, code, type, detail: 'refused', details: { messageId: 'm' } });
    expect(unexpected).toBe(false);
  });

  it('has a status for every domain code', () => {
    for (const code of CONVERSATION_ERROR_CODES) {
      expect(toProblem(new ConversationError(code, 'x')).problem.status).toBeLessThan(500);
    }
  });

  it('answers the application refusals: 404, 412 with the version, 503 with Retry-After, 422 with the limits', () => {
    expect(toProblem(new ConversationNotFound('c-1')).problem).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      detail: 'conversation c-1 was not found',
    });
    const stale = toProblem(new StaleVersion(3, 5)).problem;
    expect(stale).toMatchObject({ status: 412, code: 'VERSION_CONFLICT', currentVersion: 5 });
    const busy = toProblem(new ConversationBusy('c-1', 1));
    expect([busy.problem.status, busy.problem.code, busy.retryAfterSeconds, busy.unexpected]).toEqual([
      503,
      'CONVERSATION_BUSY',
      1,
      false,
    ]);
    const tooLarge = new ConversationTooLarge('c-1', { maxEvents: 9, maxBytes: 300 }, 'events');
    expect(toProblem(tooLarge).problem).toMatchObject({
      status: 422,
      code: 'CONVERSATION_TOO_LARGE',
      maxEvents: 9,
      maxBytes: 300,
    });
  });

  it("answers the store's refusals: 409 VERSION_CONFLICT once retries ran out, 422 IDEMPOTENCY_KEY_REUSED", () => {
    const conflict = toProblem(new VersionConflict('conversation-c', '3', 4)).problem;
    expect(conflict).toMatchObject({ status: 409, code: 'VERSION_CONFLICT' });
    const reused = toProblem(new IdempotencyKeyReused('k')).problem;
    expect(reused).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});

describe('problems of subject requests', () => {
  const placedAt = new Date('2026-01-02T03:04:05.000Z');

  it('answers an open legal hold as 409 LEGAL_HOLD naming every open hold', () => {
    const err = new LegalHoldOpen('t-a', 's-1', [
      { holdId: 'h-1', reason: 'litigation', placedAt, placedBy: 'k-1' },
      { holdId: 'h-2', reason: 'audit', placedAt, placedBy: 'k-2' },
    ]);
    const { problem, unexpected } = toProblem(err);
    expect(unexpected).toBe(false);
    expect(problem).toMatchObject({
      status: 409,
      code: 'LEGAL_HOLD',
      holds: [
        { holdId: 'h-1', reason: 'litigation', placedAt: placedAt.toISOString() },
        { holdId: 'h-2', reason: 'audit', placedAt: placedAt.toISOString() },
      ],
    });
    expect(problem.detail).toContain('h-1, h-2');
  });

  it('answers an unknown hold as 404 NOT_FOUND and a released one as 409 HOLD_ALREADY_RELEASED', () => {
    expect(toProblem(new UnknownHold('h-9')).problem).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(toProblem(new HoldAlreadyReleased('h-1', placedAt)).problem).toMatchObject({
      status: 409,
      code: 'HOLD_ALREADY_RELEASED',
      releasedAt: placedAt.toISOString(),
    });
  });
});
