import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { servedRoutes } from '../src/common/fastify-refusals';
import { startTestApp, TestApp } from './support/test-app';
import { uuid } from './support/scenario';

type Schema = {
  type?: string;
  nullable?: boolean;
  items?: Schema;
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
};
interface Response {
  description: string;
  headers?: Record<string, { required?: boolean; schema?: Schema }>;
  content?: Record<string, { schema: Schema }>;
}
interface Operation {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  servers?: { url: string }[];
  info: { license?: { name: string } };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const ROOT = resolve(__dirname, '../../..');
const WRITE_OPENAPI = join(ROOT, 'dist/apps/api/src/openapi/write-openapi.js');

/** /docs/openapi.json describes every route, body, answer and status (CONTRACT.md, "Trust boundary"). */
describe('The OpenAPI document', () => {
  let t: TestApp;
  let doc: Document;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method, op, name: `${method.toUpperCase()} ${path}` })),
    );
  const schema = (name: string) => doc.components.schemas[name];
  const op = (method: string, path: string) => doc.paths[path][method];

  beforeAll(async () => {
    // A built console (a stand-in), so that its public routes answer 200 like the others.
    const consoleDir = mkdtempSync(join(tmpdir(), 'console-'));
    writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>console</title>');
    t = await startTestApp({ CONSOLE_DIR: consoleDir });
    doc = (await t.http().get('/docs/openapi.json')).body;
  });
  afterAll(() => t.close());

  it('documents every route the service serves, and no route it does not', () => {
    const served = servedRoutes(t.app.getHttpAdapter().getInstance())
      // Swagger UI's own files (scripts, styles) are assets, not API.
      .filter((r) => !/^\/docs\/(?!openapi\.)/.test(r.url))
      .flatMap((r) =>
        r.methods
          .filter((m) => m !== 'HEAD')
          // A trailing wildcard (/console/*) is documented as /{path}.
          .map((m) => `${m} ${r.url.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}')}`),
      );
    expect(
      operations()
        .map((o) => o.name)
        .sort(),
    ).toEqual([...new Set(served)].sort());
  });

  it('writes the same document without a database (npm run lint:openapi)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      const env = { ...process.env, DATABASE_URL: '' };
      await promisify(execFile)(process.execPath, [WRITE_OPENAPI, join(dir, 'openapi.json')], { env, timeout: 30_000 });
      expect(JSON.parse(readFileSync(join(dir, 'openapi.json'), 'utf8'))).toEqual(doc);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has servers, a licence, and security on every operation (empty on the public ones)', () => {
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.info.license?.name).toBe('UNLICENSED');
    const security = Object.fromEntries(operations().map((o) => [o.name, o.op.security]));
    const open = [
      'GET /health',
      'GET /docs',
      'GET /docs/openapi.json',
      'GET /docs/openapi.yaml',
      'GET /console',
      'GET /console/{path}',
      'GET /console/config.json',
    ];
    for (const [name, requirement] of Object.entries(security))
      expect([name, requirement]).toEqual([name, open.includes(name) ? [] : [{ bearer: [] }]]);
  });

  it(
    'answers 401 on every operation that declares a bearer key, ' + 'called without one, and serves the public ones',
    async () => {
      for (const { path, method, op: operation, name } of operations()) {
        const url = path.replace(/\{\w+\}/g, uuid(1));
        const call = t.http()[method as 'get' | 'post'](url);
        const res = await (method === 'post' ? call.send({}) : call);
        const status = operation.security?.length ? 401 : 200;
        expect([name, res.status]).toEqual([name, status]);
      }
    },
  );

  it('documents ?waitFor= on every GET it answers (the WaitForInterceptor takes it, no query DTO does)', () => {
    // The documentation and the console's files are served by Fastify itself, not through Nest.
    const gets = operations().filter(
      (o) => o.method === 'get' && !o.path.startsWith('/docs') && !o.path.startsWith('/console'),
    );
    expect(gets.length).toBeGreaterThanOrEqual(10);
    for (const { name, op: operation } of gets) {
      const waitFor = operation.parameters?.filter((p) => p.in === 'query' && p.name === 'waitFor');
      expect([name, waitFor]).toEqual([name, [expect.objectContaining({ required: false })]]);
    }
  });

  it('types nullable strings as nullable strings, not objects', () => {
    const props = (name: string) => schema(name).properties!;
    expect(props('AppendMessageDto').parentMessageId).toMatchObject({ type: 'string', format: 'uuid', nullable: true });
    expect(props('ThreadStatusDto').activeLeafMessageId).toMatchObject({
      type: 'string',
      format: 'uuid',
      nullable: true,
    });
    expect(props('ThreadStatusDto').lastEventAt).toMatchObject({ type: 'string', format: 'date-time', nullable: true });
    expect(props('MessageDto').parentMessageId).toMatchObject({ type: 'string', nullable: true });
    const objects = Object.entries(doc.components.schemas).flatMap(([s, { properties = {} }]) =>
      Object.entries(properties)
        .filter(([, p]) => p.nullable && p.type === 'object')
        .map(([p]) => `${s}.${p}`),
    );
    expect(objects).toEqual([]);
  });

  it('types errors[] items as {field, messages: string[]} objects', () => {
    expect(schema('ProblemDto').properties!.errors).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/FieldErrorDto' },
    });
    expect(schema('FieldErrorDto')).toMatchObject({
      properties: { field: { type: 'string' }, messages: { type: 'array', items: { type: 'string' } } },
      required: ['field', 'messages'],
    });
  });

  describe('statuses', () => {
    const problemOf = (response: Response | undefined) => Object.keys(response?.content ?? {});

    it('documents on every operation the limits every route answers, as problem+json', () => {
      for (const { name, op: operation } of operations()) {
        for (const status of ['414', '429', '431', '500'])
          expect([name, status, problemOf(operation.responses[status])]).toEqual([
            name,
            status,
            ['application/problem+json'],
          ]);
        expect([name, operation.responses['429'].headers?.['Retry-After']]).toEqual([
          name,
          expect.objectContaining({ required: true }),
        ]);
        expect([name, Object.keys(operation.responses).some((s) => /^2/.test(s))]).toEqual([name, true]);
      }
    });

    it(
      'documents 401 and 403 on every operation that needs a key, ' +
        'and 503 with Retry-After wherever the database is used',
      () => {
        for (const { name, op: operation } of operations().filter((o) => o.op.security?.length)) {
          expect([name, Object.keys(operation.responses)]).toEqual([
            name,
            expect.arrayContaining(['401', '403', '503']),
          ]);
          expect([name, operation.responses['503'].description]).toEqual([
            name,
            expect.stringMatching(/DATABASE_TIMEOUT.*DATABASE_UNAVAILABLE/),
          ]);
          expect([name, operation.responses['503'].headers?.['Retry-After']]).toEqual([
            name,
            expect.objectContaining({ schema: { type: 'integer', minimum: 0 } }),
          ]);
        }
      },
    );

    it('documents what a conversation command can be refused with', () => {
      // the subjects' POSTs are no conversation commands (no If-Match, no queue): tested below
      const commands = operations().filter((o) => o.method === 'post' && !o.name.includes('/v1/subjects/'));
      expect(commands.length).toBeGreaterThanOrEqual(10);
      for (const { name, op: operation } of commands) {
        expect([name, Object.keys(operation.responses)]).toEqual([
          name,
          expect.arrayContaining(['201', '400', '409', '412', '413', '415', '422']),
        ]);
        expect([name, operation.responses['503'].description]).toEqual([
          name,
          expect.stringContaining('CONVERSATION_BUSY'),
        ]);
      }
      expect(op('post', '/v1/conversations/{id}/messages').responses['422'].description).toContain(
        'CONVERSATION_TOO_LARGE',
      );
      expect(op('post', '/v1/audit/conversations/{id}/reviews').responses['409'].description).toContain('SELF_REVIEW');
    });

    it('documents what a subject request can be refused with', () => {
      const erasure = op('post', '/v1/subjects/{subjectId}/erasure').responses;
      expect(Object.keys(erasure)).toEqual(expect.arrayContaining(['200', '400', '403', '409', '413', '415', '422']));
      expect(erasure['409'].description).toContain('LEGAL_HOLD');
      expect(Object.keys(op('post', '/v1/subjects/{subjectId}/holds').responses)).toEqual(
        expect.arrayContaining(['201', '400', '403', '413', '415', '422']),
      );
      const release = op('delete', '/v1/subjects/{subjectId}/holds/{holdId}').responses;
      expect(Object.keys(release)).toEqual(expect.arrayContaining(['204', '400', '403', '404', '409']));
      expect(release['409'].description).toContain('HOLD_ALREADY_RELEASED');
    });

    it('documents 503 BUSY on the capped reads, and WAIT_FOR_TIMEOUT on every read', () => {
      for (const path of [
        '/v1/audit/export',
        '/v1/audit/conversations/{id}/timeline',
        '/v1/audit/compliance',
        '/v1/audit/sample',
      ]) {
        expect([path, op('get', path).responses['503'].description]).toEqual([path, expect.stringContaining('BUSY')]);
      }
      for (const { name, op: operation } of operations().filter((o) => o.method === 'get' && o.op.security?.length)) {
        expect([name, operation.responses['503'].description]).toEqual([
          name,
          expect.stringContaining('WAIT_FOR_TIMEOUT'),
        ]);
      }
    });

    it('documents the event stream with a 2xx text/event-stream answer, and 409 END_BLOCKED with its guards', () => {
      expect(Object.keys(op('get', '/v1/events/stream').responses['200'].content!)).toEqual(['text/event-stream']);
      const blocked = op('post', '/v1/conversations/{id}/end').responses['409'].content!['application/problem+json']
        .schema as { anyOf: Schema[] };
      expect(blocked.anyOf).toContainEqual({ $ref: '#/components/schemas/EndBlockedProblemDto' });
      expect(schema('EndBlockedProblemDto').required).toEqual(
        expect.arrayContaining(['failedGuards', 'blockedEventId', 'code']),
      );
    });
  });
});
