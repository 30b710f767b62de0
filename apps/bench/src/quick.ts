import { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
async function main() {
  const url = process.argv[2];
  const kinds = process.argv[3].split(',');
  const concs = (process.argv[4] ?? '16').split(',').map(Number);
  const pool = new Pool({ connectionString: url, max: 70 });
  await pool.query('CREATE TABLE IF NOT EXISTS bench_raw (stream_id text, version int, data jsonb, UNIQUE(stream_id, version))');
  const store = new PostgresEventStore(pool);
  for (const conc of concs) {
    for (const kind of kinds) {
      const dur = 3000; let n = 0; const end = Date.now() + dur; const cpu0 = process.cpuUsage();
      await Promise.all(Array.from({ length: conc }, async (_, w) => {
        const sid = `${kind}-${randomUUID()}`; let v = 0;
        while (Date.now() < end) {
          v++;
          if (kind === 'raw') await pool.query({ name: 'raw', text: 'INSERT INTO bench_raw VALUES ($1,$2,$3)', values: [sid, v, JSON.stringify({ n: v, text: 'hello world' })] });
          else await store.append(sid, [{ eventId: randomUUID(), type: 'MessageAppended', data: { n: v, text: 'hello world' }, metadata: { actor: { type: 'user', id: 'x' } }, occurredAt: new Date().toISOString() }], { expectedVersion: v - 1, idempotency: kind === 'store' ? { scope: 's', key: randomUUID(), requestHash: 'a'.repeat(64) } : undefined });
          n++;
        }
      }));
      const cpu = process.cpuUsage(cpu0); console.log(conc, kind, Math.round(n / (dur / 1000)), "node us/op", Math.round((cpu.user + cpu.system) / n));
    }
  }
  await pool.end();
}
main();
