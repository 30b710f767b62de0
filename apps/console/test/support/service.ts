import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createApiKey, revokeApiKey, type Role } from '@app/access';
import { createConversationClient, type ConversationServiceClient } from '@app/client';
import { loadConfig } from '@app/platform';
import { createTestDatabase, type TestDatabase, testContentKeyFile } from '@app/testing';
import { createSigningKeyFile } from '@app/transparency';
import { generateSigningKeyPem, signerFromPem } from '@app/tlog';
// The browser tests drive the real service in process, as the API's e2e tests do (the one import of
// another app that .dependency-cruiser.cjs allows: apps/console/test → apps/api/src).
import { createApp } from '../../../api/src/app.factory';

/** The built console (`npm run build` writes it; `npm test` builds first). */
export const CONSOLE_DIR = resolve(__dirname, '../../../../dist/console');

export const LOG_ORIGIN = 'browser-tests.example/conversation-log';

export interface Key {
  id: string;
  key: string;
  role: Role;
  tenantId: string;
  holder: string;
}

/** A running instance of the service, listening on 127.0.0.1 on a port of its own. */
export interface Instance {
  app: NestFastifyApplication;
  baseUrl: string;
  close(): Promise<void>;
}

export interface ConsoleService extends Instance {
  db: TestDatabase;
  dataSource: DataSource;
  /** The verifier key of the instance's signing key (what CONSOLE_VERIFIER_KEYS pins by default). */
  verifierKey: string;
  keys: {
    /** An all-tenants auditor (the person signing in to the console in most tests). */
    auditor: Key;
    /** A second all-tenants auditor (reviews ends too). */
    auditor2: Key;
    /** An auditor of tenant acme only. */
    acmeAuditor: Key;
    admin: Key;
    writer: Key;
    /** An operator of acme whose holder is the first auditor's: that auditor may not review its ends. */
    operator: Key;
    globexWriter: Key;
  };
  key(role: Role, tenantId: string, holder: string): Promise<Key>;
  revoke(keyId: string): Promise<void>;
  /** The typed client (@app/client) as one key. */
  client(key: Key): ConversationServiceClient;
  /** Waits until a signed checkpoint covers every event stored now (one is signed each second). */
  signedCheckpoint(): Promise<number>;
  /** Another instance on the same database (e.g. another pinned verifier key); closed by close(). */
  another(env: Record<string, string>): Promise<Instance>;
}

/** A verifier key of the same name as the service's but of another Ed25519 key: nothing verifies with it. */
export const wrongVerifierKey = (): string => signerFromPem(LOG_ORIGIN, generateSigningKeyPem()).verifierKey;

async function listen(app: NestFastifyApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

async function instance(databaseUrl: string, env: Record<string, string>): Promise<Instance> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    RATE_LIMITS: 'off',
    CONSOLE_DIR,
    CONTENT_KEY_FILE: testContentKeyFile(),
    ...env,
  });
  const app = await createApp({ config, databaseUrl, logger: false });
  try {
    await app.init();
    const baseUrl = await listen(app);
    return { app, baseUrl, close: () => app.close() };
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The whole service on its own cloned test database, as the least-privileged runtime login, with a
 * signing key (checkpoints every second), the built console served at /console and
 * CONSOLE_VERIFIER_KEYS pinning the signing key's verifier key (unless `env` says otherwise).
 */
export async function startConsoleService(env: Record<string, string> = {}): Promise<ConsoleService> {
  if (!existsSync(join(CONSOLE_DIR, 'index.html'))) {
    throw new Error(`the console is not built (${CONSOLE_DIR}/index.html is missing): run npm run build first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'console-browser-'));
  const signingKeyFile = join(dir, 'signing-key.pem');
  createSigningKeyFile(signingKeyFile);
  const verifierKey = signerFromPem(LOG_ORIGIN, readFileSync(signingKeyFile, 'utf8')).verifierKey;
  const db = await createTestDatabase();
  const others: Instance[] = [];
  let main: Instance;
  try {
    main = await instance(db.runtimeUrl, {
      LOG_ORIGIN,
      SIGNING_KEY_FILE: signingKeyFile,
      CHECKPOINT_INTERVAL: '1',
      CONSOLE_VERIFIER_KEYS: verifierKey,
      ...env,
    });
  } catch (err) {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const dataSource = main.app.get(DataSource);
  const key = async (role: Role, tenantId: string, holder: string): Promise<Key> => {
    const { id, key } = await createApiKey(dataSource, { role, tenantId, holder });
    return { id, key, role, tenantId, holder };
  };
  const keys = {
    auditor: await key('auditor', '*', 'Ada Auditor'),
    auditor2: await key('auditor', '*', 'Bo Reviewer'),
    acmeAuditor: await key('auditor', 'acme', 'Cy Acme'),
    admin: await key('admin', '*', 'Root Admin'),
    writer: await key('writer', 'acme', 'Chat Front End'),
    operator: await key('operator', 'acme', 'Ada Auditor'),
    globexWriter: await key('writer', 'globex', 'Globex Front End'),
  };
  return {
    ...main,
    db,
    dataSource,
    verifierKey,
    keys,
    key,
    async revoke(keyId) {
      await revokeApiKey(dataSource, keyId, { actor: 'browser-test', reason: 'revoked mid-session' });
    },
    client: (k) => createConversationClient({ baseUrl: main.baseUrl, apiKey: k.key }),
    async signedCheckpoint() {
      const { rows } = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM es_events');
      const stored = Number(rows[0].n);
      for (let i = 0; i < 150; i++) {
        const res = await fetch(`${main.baseUrl}/v1/audit/log/checkpoint`, {
          headers: { authorization: `Bearer ${keys.admin.key}` },
        });
        const size = res.ok ? Number((await res.text()).split('\n')[1]) : 0;
        if (size >= stored) return size;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no checkpoint covering ${stored} events within 30 s`);
    },
    async another(more) {
      const other = await instance(db.runtimeUrl, { LOG_ORIGIN, ...more });
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others) await other.close().catch(() => undefined);
      await main.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
