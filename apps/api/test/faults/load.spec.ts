import { Attempt, recovery, statusCounts } from './load';

const at = (client: number, doneAt: number, status: number, code?: string): Attempt => ({
  client,
  sentAt: doneAt - 10,
  doneAt,
  status,
  code,
});

describe('the fault suite’s recovery figure', () => {
  it('is the first write after the fault, and the time until every client that failed wrote again', () => {
    const attempts = [
      at(0, 900, 201),
      at(1, 1_100, 503, 'DATABASE_UNAVAILABLE'),
      at(0, 1_500, 0),
      at(1, 2_300, 201),
      at(0, 2_700, 201),
      at(2, 2_100, 201), // never failed: does not hold the figure up
    ];
    expect(recovery(attempts, 1_000, 2_000)).toEqual({ firstMs: 100, allMs: 700 });
  });

  it('is null for a client that failed and never wrote again, and when nothing was written after', () => {
    expect(recovery([at(0, 1_100, -1), at(1, 2_500, 201)], 1_000, 2_000)).toEqual({ firstMs: 500, allMs: null });
    expect(recovery([at(0, 900, 201)], 1_000, 2_000)).toEqual({ firstMs: null, allMs: 0 });
  });

  it('counts the failed attempts by status and code', () => {
    expect(
      statusCounts([at(0, 1, 503, 'DATABASE_TIMEOUT'), at(0, 2, 503, 'DATABASE_TIMEOUT'), at(1, 3, 0), at(1, 4, -1)]),
    ).toEqual({
      '503 DATABASE_TIMEOUT': 2,
      'conn-error': 1,
      timeout: 1,
    });
  });
});
