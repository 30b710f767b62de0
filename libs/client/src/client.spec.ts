import { createConversationClient } from './client';

/** A fetch that answers 200 `{}` and keeps the Authorization header of every request it sees. */
function recordingFetch() {
  const seen: (string | null)[] = [];
  const fetch = async (input: Request | string | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    seen.push(request.headers.get('authorization'));
    return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

describe('createConversationClient', () => {
  it('given a key, when a call is made, then it is sent as a Bearer token', async () => {
    const { seen, fetch } = recordingFetch();
    const client = createConversationClient({ baseUrl: 'http://service.test', apiKey: 'csk_stored', fetch });
    await client.GET('/v1/me');
    expect(seen).toEqual(['Bearer csk_stored']);
  });

  it('given a key function, when it answers nothing, then no Authorization is sent', async () => {
    const { seen, fetch } = recordingFetch();
    const client = createConversationClient({ baseUrl: 'http://service.test', apiKey: () => undefined, fetch });
    await client.GET('/v1/me');
    expect(seen).toEqual([null]);
  });

  it('given a stored key, when a call names its own Authorization (tried at sign-in), then it is sent', async () => {
    const { seen, fetch } = recordingFetch();
    const client = createConversationClient({ baseUrl: 'http://service.test', apiKey: 'csk_stored', fetch });
    await client.GET('/v1/me', { headers: { authorization: 'Bearer csk_tried' } });
    expect(seen).toEqual(['Bearer csk_tried']);
  });
});
