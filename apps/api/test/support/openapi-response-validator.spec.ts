import { ObservedResponse, OpenApiDocument, OpenApiResponseValidator } from './openapi-response-validator';

const PROBLEM = { content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } } } };

/** A small document in the shape @nestjs/swagger writes (OpenAPI 3.0, nullable, $refs). */
const DOCUMENT: OpenApiDocument = {
  paths: {
    '/v1/things/{id}': {
      get: {
        responses: {
          200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/ThingDto' } } } },
          404: PROBLEM,
          429: { ...PROBLEM, headers: { 'Retry-After': { required: true, schema: { type: 'integer', minimum: 0 } } } },
        },
      },
      post: { responses: { 201: { content: { 'application/json': { schema: { type: 'object' } } } } } },
    },
    '/v1/things/{id}/stream': {
      get: { responses: { 200: { content: { 'text/event-stream': { schema: { type: 'string' } } } } } },
    },
  },
  components: {
    schemas: {
      ThingDto: {
        type: 'object',
        properties: {
          id: { type: 'string', format: 'uuid' },
          version: { type: 'integer', example: 3 },
          parentId: { type: 'string', format: 'uuid', nullable: true },
          outcome: { type: 'string', nullable: true, enum: ['upheld', null] },
          errors: { type: 'array', items: { $ref: '#/components/schemas/FieldErrorDto' } },
        },
        required: ['id', 'version', 'parentId'],
      },
      FieldErrorDto: {
        type: 'object',
        properties: { field: { type: 'string' }, messages: { type: 'array', items: { type: 'string' } } },
        required: ['field', 'messages'],
      },
      ProblemDto: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          code: { type: 'string' },
        },
        required: ['type', 'title', 'status', 'detail', 'code'],
      },
    },
  },
};

const ID = '0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10';
const thing = { id: ID, version: 3, parentId: null, outcome: null, errors: [{ field: 'role', messages: ['no'] }] };
const json = (
  status: number,
  body: unknown,
  type = 'application/json',
  extra: Record<string, string> = {},
): ObservedResponse => ({
  method: 'GET',
  url: `/v1/things/${ID}?waitFor=1-1`,
  status,
  headers: { 'content-type': `${type}; charset=utf-8`, ...extra },
  text: JSON.stringify(body),
});
const problem = (status: number, code: string) => ({ type: '/problems/x', title: 'X', status, detail: 'x', code });

describe(OpenApiResponseValidator.name, () => {
  const validator = new OpenApiResponseValidator(DOCUMENT);

  it('accepts an answer that matches its operation, nulls and all', () => {
    expect(validator.violations(json(200, thing))).toEqual([]);
    expect(validator.violations(json(404, problem(404, 'NOT_FOUND'), 'application/problem+json'))).toEqual([]);
  });

  describe('refuses', () => {
    it('a field typed wrong', () => {
      expect(validator.violations(json(200, { ...thing, version: '3' }))).toEqual([
        expect.stringMatching(/body\/version must be integer/),
      ]);
    });

    it('a fraction where the document says integer', () => {
      expect(validator.violations(json(200, { ...thing, version: 3.5 }))).toEqual([
        expect.stringMatching(/version must be integer/),
      ]);
    });

    it('a missing required field', () => {
      const { parentId: _, ...withoutParent } = thing;
      expect(validator.violations(json(200, withoutParent))).toEqual([
        expect.stringMatching(/must have required property 'parentId'/),
      ]);
    });

    it('a value outside its format or enum', () => {
      expect(validator.violations(json(200, { ...thing, id: 'not-a-uuid' }))).toEqual([
        expect.stringMatching(/id must match format "uuid"/),
      ]);
      expect(validator.violations(json(200, { ...thing, outcome: 'maybe' }))).toEqual([
        expect.stringMatching(/outcome must be equal to one of the allowed values/),
      ]);
    });

    it('field errors sent as strings where objects are documented', () => {
      expect(validator.violations(json(200, { ...thing, errors: ['role: no'] }))).toEqual([
        expect.stringMatching(/errors\/0 must be object/),
      ]);
    });

    it('an undocumented status', () => {
      expect(validator.violations(json(409, problem(409, 'VERSION_CONFLICT'), 'application/problem+json'))).toEqual([
        expect.stringMatching(/status 409 is not documented for \/v1\/things\/\{id\} \(documented: 200, 404, 429\)/),
      ]);
    });

    it('a content type the document does not list', () => {
      expect(validator.violations(json(404, problem(404, 'NOT_FOUND'), 'application/json'))).toEqual([
        expect.stringMatching(/content type "application\/json; charset=utf-8" is not documented/),
      ]);
    });

    it('a body that is not JSON under a JSON media type', () => {
      expect(validator.violations({ ...json(200, thing), text: '{"id":' })).toEqual([
        expect.stringMatching(/is not JSON/),
      ]);
    });

    it('a required header that is missing, or not of its type', () => {
      expect(validator.violations(json(429, problem(429, 'RATE_LIMITED'), 'application/problem+json'))).toEqual([
        expect.stringMatching(/required header Retry-After is missing/),
      ]);
      const late = json(429, problem(429, 'RATE_LIMITED'), 'application/problem+json', { 'retry-after': 'soon' });
      expect(validator.violations(late)).toEqual([
        expect.stringMatching(/header Retry-After "soon" Retry-After must be integer/),
      ]);
    });

    it('anything but a 404 problem on a path the document does not know', () => {
      const unknown = { ...json(200, thing), url: '/v1/nothing' };
      expect(validator.violations(unknown)).toEqual([
        expect.stringMatching(/no such operation, so the answer must be 404 NOT_FOUND/),
      ]);
      expect(
        validator.violations({
          ...json(404, problem(404, 'NOT_FOUND'), 'application/problem+json'),
          url: '/v1/nothing',
        }),
      ).toEqual([]);
      // The address's rate limit comes first: a 429 problem there too, never another code.
      expect(
        validator.violations({
          ...json(429, problem(429, 'RATE_LIMITED'), 'application/problem+json'),
          url: '/v1/nothing',
        }),
      ).toEqual([]);
      expect(
        validator.violations({
          ...json(429, problem(429, 'NOT_FOUND'), 'application/problem+json'),
          url: '/v1/nothing',
        }),
      ).toEqual([expect.stringMatching(/code must be RATE_LIMITED/)]);
    });

    it('a 405 whose Allow differs from the documented methods', () => {
      const wrongMethod = (allow: string): ObservedResponse => ({
        ...json(405, problem(405, 'METHOD_NOT_ALLOWED'), 'application/problem+json', { allow }),
        method: 'DELETE',
      });
      expect(validator.violations(wrongMethod('GET, HEAD, POST'))).toEqual([]);
      expect(validator.violations(wrongMethod('GET'))).toEqual([
        expect.stringMatching(/Allow "GET" is not the documented methods/),
      ]);
    });
  });

  it('checks only the content type of a stream whose body the test did not read', () => {
    const stream = { method: 'GET', url: `/v1/things/${ID}/stream`, status: 200 };
    expect(validator.violations({ ...stream, headers: { 'content-type': 'text/event-stream' } })).toEqual([]);
    expect(validator.violations({ ...stream, headers: { 'content-type': 'application/json' } })).toEqual([
      expect.stringMatching(/not documented/),
    ]);
  });

  it('throws naming every violation', () => {
    const call = () => validator.assertValid(json(200, { id: 'x' }));
    expect(call).toThrow(/departs from the OpenAPI document:\n- GET \/v1\/things\/\S+ → 200: /);
    expect(call).toThrow(
      /required property 'version'.*required property 'parentId'.*body\/id must match format "uuid"/,
    );
  });
});
