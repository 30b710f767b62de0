import { problemInsteadOf } from './fastify-refusals';

describe(problemInsteadOf.name, () => {
  it('turns Nest’s shutdown answer into a problem with a stable code', () => {
    const nest = JSON.stringify({ error: 'Service Unavailable', message: 'Service Unavailable', statusCode: 503 });
    expect(JSON.parse(problemInsteadOf(503, 'application/json; charset=utf-8', nest)!)).toEqual({
      type: '/problems/unavailable',
      title: 'Service Unavailable',
      status: 503,
      detail: 'Service Unavailable',
      code: 'UNAVAILABLE',
    });
  });

  it('names the code of the status for Fastify’s default error shape', () => {
    const fastify = JSON.stringify({ statusCode: 405, error: 'Method Not Allowed', message: 'nope' });
    expect(JSON.parse(problemInsteadOf(405, 'application/json', fastify)!)).toMatchObject({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      detail: 'nope',
    });
  });

  it.each([
    ['a success', 200, 'application/json', '{"statusCode":200}'],
    ['a problem already', 404, 'application/problem+json', '{"statusCode":404}'],
    ['an error body of another shape', 409, 'application/json', '{"code":"X"}'],
    ['a body that is not JSON', 500, 'application/json', 'oops'],
    ['a stream', 500, 'application/json', undefined],
  ])('leaves %s alone', (_, status, type, payload) => {
    expect(problemInsteadOf(status, type, payload)).toBeNull();
  });
});
