import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { loadConfig } from '@app/platform';
import { createApp } from '../../src/app.factory';
import { createApiKey, Role } from '../../src/auth/api-keys';

export interface TestApp {
  app: NestFastifyApplication;
  db: TestDatabase;
  http: () => ReturnType<typeof request>;
  key(role: Role, tenantId: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The whole application on its own cloned database, as `npm start` builds it. `connectVia`
 * may change the URL the service connects with (a proxy, connection options).
 */
export async function startTestApp(env: Record<string, string> = {}, connectVia: (url: string) => string = (url) => url): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const app = await createApp({ config, databaseUrl: connectVia(db.url), logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    db,
    http: () => request(app.getHttpServer()),
    key: async (role, tenantId) => (await createApiKey(db.pool, { role, tenantId })).key,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

/** Calls as one API key, with JSON bodies. */
export function as(t: TestApp, key: string) {
  const auth = { Authorization: `Bearer ${key}` };
  return {
    get: (path: string) => t.http().get(path).set(auth),
    post: (path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
      t.http().post(path).set(auth).set(headers).send(body as object),
  };
}

export const USER_ROLE = 'user';

/** The stream version of a conversation, straight from the store. */
export async function versionOf(t: TestApp, conversationId: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ version: string }>('SELECT version::text FROM es_streams WHERE stream_id = $1', [
    `conversation-${conversationId}`,
  ]);
  return rows.length ? Number(rows[0].version) : 0;
}
