import type { AddressInfo } from 'node:net';
import { createConversationClient, isProblem } from '@app/client';
import { endAConversation } from '../../../libs/client/examples/end-a-conversation';
import { as, startTestApp, TestApp } from './support/test-app';

/** @app/client against the real service on a port: the README's example, every answer checked against the document. */
describe('The typed client (@app/client) against the service', () => {
  let t: TestApp;
  let baseUrl: string;
  let writerKey: string;
  const seen: string[] = [];

  /** fetch, with every answer checked against the OpenAPI document the service serves. */
  const checkedFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const text = await response.clone().text();
    t.openapi.assertValid({
      method: request.method.toLowerCase(),
      url: url.pathname + url.search,
      status: response.status,
      headers: Object.fromEntries(response.headers),
      text,
    });
    seen.push(`${request.method} ${url.pathname} ${response.status}`);
    return response;
  };

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    writerKey = await t.key('writer', 'acme');
  });
  afterAll(() => t.close());

  it('runs the README example: END_BLOCKED with its guards, the end, then LINEAGE_ENDED', async () => {
    const client = createConversationClient({ baseUrl, apiKey: writerKey, fetch: checkedFetch });
    const result = await endAConversation(client, 'subject-client');
    expect(result).toEqual({
      conversationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      failedGuards: ['INSUFFICIENT_REDIRECTION'],
      endEventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      lineageEnded: true,
    });
    expect(seen.filter((s) => s.startsWith('POST /v1/conversations/') && s.endsWith(' 409'))).toHaveLength(2);
    // What the service recorded: the blocked attempt and the end, read back over plain HTTP.
    const status = await as(t, writerKey).get(`/v1/conversations/${result.conversationId}`);
    expect(status.body.ends).toEqual([expect.objectContaining({ endEventId: result.endEventId, initiator: 'model' })]);
  });

  it('asks a key function before each request, and types a refusal as a problem', async () => {
    let key: string | undefined = 'csk_not-a-key';
    const client = createConversationClient({ baseUrl, apiKey: () => key, fetch: checkedFetch });
    const refused = await client.GET('/v1/me');
    expect(isProblem(refused.error, 'UNAUTHENTICATED')).toBe(true);
    key = writerKey;
    const me = await client.GET('/v1/me');
    expect(me.data).toMatchObject({ role: 'writer', tenantId: 'acme' });
  });
});
