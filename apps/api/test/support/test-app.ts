import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase, testContentKeyFile } from '@app/testing';
import { loadConfig } from '@app/platform';
import { createApp } from '../../src/app.factory';
import { createApiKey, NewApiKey, Role } from '@app/access';
import { OpenApiDocument, OpenApiResponseValidator } from './openapi-response-validator';

export interface TestApp {
  app: NestFastifyApplication;
  db: TestDatabase;
  /** supertest against the app; every answer is checked against the OpenAPI document. */
  http: () => ReturnType<typeof request>;
  /** The document the app serves at /docs/openapi.json, for answers read without supertest. */
  openapi: OpenApiResponseValidator;
  /** The app's own DataSource (commands and reads), as the runtime login: key commands take it. */
  dataSource: DataSource;
  key(role: Role, tenantId: string, more?: Omit<NewApiKey, 'role' | 'tenantId'>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The whole application on its own cloned database, as `npm start` builds it, connected as the
 * least-privileged runtime login (`asOwner`: as the owner, the way the service ran before).
 * `connectVia` may change the URL the service connects with (a proxy, connection options).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: { asOwner?: boolean; connectVia?: (url: string) => string } = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({ LOG_LEVEL: 'silent', CONTENT_KEY_FILE: testContentKeyFile(), ...env });
  const connectVia = options.connectVia ?? ((url: string) => url);
  const app = await createApp({
    config,
    databaseUrl: connectVia(options.asOwner ? db.url : db.runtimeUrl),
    logger: false,
  });
  try {
    await app.init();
  } catch (err) {
    await app.close().catch(() => undefined);
    await db.drop();
    throw err;
  }
  await app.getHttpAdapter().getInstance().ready();
  const openapi = await servedDocument(app);
  const dataSource = app.get(DataSource);
  return {
    app,
    db,
    http: () => validated(request(app.getHttpServer()), openapi),
    openapi,
    dataSource,
    key: async (role, tenantId, more = {}) => (await createApiKey(dataSource, { ...more, role, tenantId })).key,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

/** A validator over the document an app serves. */
export async function servedDocument(app: NestFastifyApplication): Promise<OpenApiResponseValidator> {
  // The app may serve HTTPS with a self-signed certificate (tls.e2e-spec): trusted on loopback only.
  const res = await request(app.getHttpServer()).get('/docs/openapi.json').trustLocalhost();
  return new OpenApiResponseValidator(res.body as OpenApiDocument);
}

const documents = new WeakMap<NestFastifyApplication, Promise<OpenApiResponseValidator>>();

/** The served document of an app started elsewhere (another instance on one database), fetched once. */
export function documentOf(app: NestFastifyApplication): Promise<OpenApiResponseValidator> {
  let document = documents.get(app);
  if (!document) documents.set(app, (document = servedDocument(app)));
  return document;
}

/** supertest against any app, every answer checked against the document that app serves. */
export async function httpOf(app: NestFastifyApplication): Promise<() => ReturnType<typeof request>> {
  const openapi = await documentOf(app);
  return () => validated(request(app.getHttpServer()), openapi);
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);

/** The same supertest agent, whose every request fails its test on an answer the document does not describe. */
export function validated<T extends object>(agent: T, openapi: OpenApiResponseValidator): T {
  return new Proxy(agent, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !METHODS.has(property) || typeof value !== 'function') return value;
      return (url: string, ...rest: unknown[]) =>
        (value as (url: string, ...rest: unknown[]) => request.Test).call(target, url, ...rest).expect((res) =>
          openapi.assertValid({
            method: property,
            url: pathOf(url),
            status: res.status,
            headers: res.headers,
            body: res.body,
            text: res.text,
          }),
        );
    },
  });
}

/** supertest takes a path or, against a running service, a whole URL. */
const pathOf = (url: string) => (/^https?:\/\//.test(url) ? new URL(url).pathname + new URL(url).search : url);

/** Calls as one API key, with JSON bodies. */
export function as(t: TestApp, key: string) {
  const auth = { Authorization: `Bearer ${key}` };
  return {
    get: (path: string) => t.http().get(path).set(auth),
    post: (path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
      t
        .http()
        .post(path)
        .set(auth)
        .set(headers)
        .send(body as object),
  };
}

/** The stream version of a conversation, straight from the store. */
export async function versionOf(t: TestApp, conversationId: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ version: string }>(
    'SELECT version::text FROM es_streams WHERE stream_id = $1',
    [`conversation-${conversationId}`],
  );
  return rows.length ? Number(rows[0].version) : 0;
}
