import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { runtimeConnection } from './runtime-connection';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(runtimeConnection.name, () => {
  let db: TestDatabase;
  const clients: Client[] = [];
  const connect = async (timeouts: { dbStatementTimeoutMs: number; dbIdleInTransactionTimeoutMs: number }) => {
    const c = new Client(runtimeConnection(db.runtimeUrl, timeouts));
    c.on('error', () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db.drop();
  });

  it("sets both timeouts on the connection itself (a NOLOGIN role's settings would not reach it)", async () => {
    const c = await connect({ dbStatementTimeoutMs: 30_000, dbIdleInTransactionTimeoutMs: 60_000 });
    const { rows } = await c.query(
      `SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i`,
    );
    expect(rows[0]).toEqual({ s: '30s', i: '1min' });
  });

  it('has the server cancel a runaway statement', async () => {
    const c = await connect({ dbStatementTimeoutMs: 200, dbIdleInTransactionTimeoutMs: 0 });
    await expect(c.query('SELECT pg_sleep(10)')).rejects.toMatchObject({ code: '57014' });
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('has the server end a session left idle in a transaction, releasing its locks', async () => {
    const c = await connect({ dbStatementTimeoutMs: 0, dbIdleInTransactionTimeoutMs: 200 });
    await c.query('BEGIN');
    await c.query('SELECT * FROM rm_conversations FOR UPDATE');
    await sleep(800);
    await expect(c.query('SELECT 1')).rejects.toThrow();
    const other = await connect({ dbStatementTimeoutMs: 2000, dbIdleInTransactionTimeoutMs: 0 });
    await other.query('BEGIN');
    await expect(other.query('LOCK TABLE rm_conversations IN ACCESS EXCLUSIVE MODE NOWAIT')).resolves.toBeDefined();
    await other.query('ROLLBACK');
  });

  it('leaves a timeout off when it is 0', async () => {
    const c = await connect({ dbStatementTimeoutMs: 0, dbIdleInTransactionTimeoutMs: 0 });
    const { rows } = await c.query(
      `SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i`,
    );
    expect(rows[0]).toEqual({ s: '0', i: '0' });
  });
});
