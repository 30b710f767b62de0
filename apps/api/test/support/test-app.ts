import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { loadConfig } from '@app/platform';
import { createApp } from '../../src/app.factory';
import { createApiKey, NewApiKey, Role } from '../../src/auth/api-keys';

export interface TestApp {
  app: NestFastifyApplication;
  db: TestDatabase;
  http: () => ReturnType<typeof request>;
  key(role: Role, tenantId: string, more?: Omit<NewApiKey, 'role' | 'tenantId'>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The whole application on its own cloned database, as `npm start` builds it, connected as the
 * least-privileged runtime login (`asOwner`: as the owner, the way the service ran before).
 */
export async function startTestApp(env: Record<string, string> = {}, options: { asOwner?: boolean } = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const app = await createApp({ config, databaseUrl: options.asOwner ? db.url : db.runtimeUrl, logger: false });
  try {
    await app.init();
  } catch (err) {
    await app.close().catch(() => undefined);
    await db.drop();
    throw err;
  }
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    db,
    http: () => request(app.getHttpServer()),
    key: async (role, tenantId, more = {}) => (await createApiKey(db.pool, { ...more, role, tenantId })).key,
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
