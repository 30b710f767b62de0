import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { createKeyOn } from './support/keys';
import {
  eventually,
  jsonLines,
  killWithWorkers,
  NodeProcess,
  readOnNewConnection,
  startTwoWorkers,
  workersListedIn,
} from './support/node-process';
import { startTestApp, TestApp } from './support/test-app';

/** A self-signed certificate for 127.0.0.1, made for this test. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

describe('TLS_CERT_FILE and TLS_KEY_FILE', () => {
  let dir: string;
  let files: { cert: string; key: string };
  let t: TestApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-tls-'));
    files = selfSigned(dir);
    t = await startTestApp({ TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /health over HTTPS with the certificate given', async () => {
    const res = await t.http().get('/health').ca(readFileSync(files.cert));
    expect(res.status).toBe(200);
    expect(res.body.info.database).toEqual({ status: 'up', privileges: 'least' });
  });

  it('does not answer plain HTTP on that port', async () => {
    const { port } = t.app.getHttpServer().address() as { port: number };
    const status = await new Promise<number | string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/health' }, (res) => resolve(res.statusCode ?? 0));
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
      req.end();
    });
    expect(status).not.toBe(200);
  });
});

/** WORKERS=2 with TLS: the primary's port serves HTTPS from both workers, and nothing in plain HTTP. */
describe('TLS with WORKERS=2', () => {
  let dir: string;
  let files: { cert: string; key: string };
  let db: TestDatabase;
  let primary: NodeProcess;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-tls-workers-'));
    files = selfSigned(dir);
    db = await createTestDatabase();
    ({ primary, base } = await startTwoWorkers(db, { TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key }));
  }, 120_000);
  afterAll(async () => {
    if (primary) await killWithWorkers(primary);
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers HTTPS with the certificate given from both workers, each request on a new connection', async () => {
    const ca = readFileSync(files.cert);
    const { key } = await createKeyOn(db.url, { role: 'writer', tenantId: 'acme' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => readOnNewConnection(base, '/v1/me', key, ca)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    // Each worker logs the requests it served (its lines are written within a second).
    const served = () =>
      new Set(
        jsonLines<{ pid: number; req?: { url: string }; res?: unknown }>(primary.output)
          .filter((l) => l.req?.url === '/v1/me' && l.res)
          .map((l) => l.pid),
      );
    await eventually('both workers served /v1/me', () => workersListedIn(primary).every((pid) => served().has(pid)));
    // An untrusted certificate is refused by the client, as it must be.
    await expect(readOnNewConnection(base, '/health')).rejects.toThrow(/self.signed|certificate/i);
  });

  it('does not answer plain HTTP on that port', async () => {
    const status = await readOnNewConnection(base.replace('https:', 'http:'), '/health').then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => err.code ?? 'error',
    );
    expect(status).not.toBe(200);
  });
});
