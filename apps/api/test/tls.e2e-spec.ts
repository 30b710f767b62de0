import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
