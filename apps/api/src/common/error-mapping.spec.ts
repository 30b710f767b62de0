import { DatabaseError } from 'pg';
import { toProblem } from './error-mapping';

const pgError = (code: string, message = 'server text naming db-host-7') => Object.assign(new DatabaseError(message, 0, 'error'), { code });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.7:5432`), { code });

describe(toProblem.name, () => {
  it.each([
    [pgError('57014'), 'DATABASE_TIMEOUT'],
    [pgError('55P03'), 'DATABASE_TIMEOUT'],
    [pgError('25P03'), 'DATABASE_TIMEOUT'],
    [pgError('57P01'), 'DATABASE_UNAVAILABLE'],
    [pgError('57P03'), 'DATABASE_UNAVAILABLE'],
    [pgError('53300'), 'DATABASE_UNAVAILABLE'],
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
