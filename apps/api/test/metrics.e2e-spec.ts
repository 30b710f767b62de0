import { as, startTestApp, TestApp } from './support/test-app';
import { path, say, startConversation, uuid } from './support/scenario';

const CONVERSATION = uuid(0x5ec);
const TENANT = 'tenant-secret-7';

/** /metrics spans every tenant: admin keys only, and no tenant's data in it. */
describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers 401 without a key and 403 to every key but an admin one, a writer’s included', async () => {
    expect((await t.http().get('/metrics')).status).toBe(401);
    for (const [role, tenant] of [
      ['writer', TENANT],
      ['operator', TENANT],
      ['auditor', TENANT],
      ['auditor', '*'],
    ] as const) {
      const res = await as(t, await t.key(role, tenant)).get('/metrics');
      expect([role, tenant, res.status, res.body.code]).toEqual([role, tenant, 403, 'FORBIDDEN']);
    }
    const admin = await as(t, await t.key('admin', '*')).get('/metrics');
    expect(admin.status).toBe(200);
    expect(admin.text).toContain('http_request_duration_seconds');
  });

  it('holds no tenant id, no conversation id and no raw URL: routes are patterns', async () => {
    const writer = as(t, await t.key('writer', TENANT));
    await startConversation(writer, CONVERSATION);
    await say(writer, CONVERSATION, uuid(1), null, 'user', 'hello');
    expect((await writer.get(path(CONVERSATION))).status).toBe(200);
    expect((await writer.get(`/v1/no-such-route/${TENANT}/${CONVERSATION}?tenant=${TENANT}`)).status).toBe(404);

    const text = (await as(t, await t.key('admin', '*')).get('/metrics')).text;
    expect(text).not.toContain(CONVERSATION);
    expect(text).not.toContain(TENANT);
    expect(text).not.toContain('no-such-route');
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    expect(routes).toContain('/v1/conversations/:id');
    for (const route of routes) expect(route).toMatch(/^(unmatched|\/[\w/:{}.-]*)$/);
  });
});
