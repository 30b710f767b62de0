import Fastify, { FastifyInstance } from 'fastify';
import { mixedLoad } from './mixed-bench';
import type { RunningService } from './service';

/** Writes are answered no sooner than this; reads at once. */
const WRITE_MS = 300;

describe('mixedLoad', () => {
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    app = Fastify();
    app.get('/v1/conversations/:id', async () => ({ status: 'open' }));
    app.post('/v1/conversations/:id/messages', async (_req, reply) => {
      await new Promise((done) => setTimeout(done, WRITE_MS));
      return reply.code(201).send({ version: 2 });
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('sends nine reads for each write and keeps each answer’s latency by its kind', async () => {
    const service = { target: { name: 'service', url, headers: {}, conversations: async () => [] } };
    const r = await mixedLoad(service as unknown as RunningService, ['a', 'b', 'c'], 10, 2);
    expect(r.failed).toBe(0);
    expect(r.statuses['200']).toBe(r.reads);
    expect(r.statuses['201']).toBe(r.writes);
    // Each connection's cycle is nine reads and one write; the last cycle may be cut short.
    expect(r.writes).toBeGreaterThan(0);
    expect(Math.abs(r.reads - 9 * r.writes)).toBeLessThanOrEqual(9 * 10);
    // No write is answered sooner than the route waits: a write counted as a read would not do.
    expect(r.writeP99Ms).toBeGreaterThanOrEqual(WRITE_MS);
  });
});
