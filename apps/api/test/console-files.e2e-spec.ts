import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPem, signerFromPem } from '@app/tlog';
import { startTestApp, TestApp } from './support/test-app';
import { uuid } from './support/scenario';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
  "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const INDEX =
  '<!doctype html><title>Auditor console</title><script type="module" src="/console/assets/index-3f9a1c.js"></script>';
const SCRIPT = 'console.log("the console");';
const SECRET = 'the file beside the console that no one may read';

/** A built console (a stand-in), with a secret beside it and a dot file inside it. */
function fakeConsole(): { parent: string; dir: string } {
  const parent = mkdtempSync(join(tmpdir(), 'console-files-'));
  const dir = join(parent, 'console');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-3f9a1c.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'index-77b2e0.css'), 'body { margin: 0 }');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, '.env'), SECRET);
  writeFileSync(join(parent, 'secret.txt'), SECRET);
  symlinkSync(join(parent, 'secret.txt'), join(dir, 'assets', 'linked-out.js'));
  return { parent, dir };
}

/** A request whose path goes out exactly as written (no client normalises `..` away). */
function rawGet(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const expectConsoleHeaders = (headers: Record<string, unknown>) => {
  expect(headers['content-security-policy']).toBe(CSP);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
};

/** GET /console: the built console's files, without a key, under a strict policy. */
describe('The console files (/console)', () => {
  let t: TestApp;
  let files: { parent: string; dir: string };
  let port: number;
  const verifierKey = signerFromPem('log.example/console', generateSigningKeyPem()).verifierKey;

  beforeAll(async () => {
    files = fakeConsole();
    t = await startTestApp({ CONSOLE_DIR: files.dir, CONSOLE_VERIFIER_KEYS: ` ${verifierKey} ,` });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t.close();
    rmSync(files.parent, { recursive: true, force: true });
  });

  it.each([
    '/console',
    '/console/',
    '/console/ends',
    '/console/ends/',
    `/console/conversations/${uuid(7)}?from=2025-01-01`,
  ])('answers %s with index.html, revalidated, under the console policy, without a key', async (path) => {
    const res = await t.http().get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toBe(INDEX);
    expect(res.headers['cache-control']).toBe('no-cache');
    expectConsoleHeaders(res.headers);
  });

  it('serves a hashed asset as immutable, with its media type', async () => {
    const js = await t.http().get('/console/assets/index-3f9a1c.js');
    expect([js.status, js.headers['content-type'], js.text]).toEqual([200, 'text/javascript; charset=utf-8', SCRIPT]);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expectConsoleHeaders(js.headers);
    const css = await t.http().get('/console/assets/index-77b2e0.css');
    expect([css.status, css.headers['content-type']]).toEqual([200, 'text/css; charset=utf-8']);
    expect(css.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('serves another file of the build, revalidated', async () => {
    const res = await t.http().get('/console/favicon.svg');
    expect([res.status, res.headers['content-type'], res.headers['cache-control']]).toEqual([
      200,
      'image/svg+xml',
      'no-cache',
    ]);
  });

  it('answers HEAD like GET, without the body', async () => {
    const res = await t.http().head('/console/assets/index-3f9a1c.js');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expectConsoleHeaders(res.headers);
  });

  it('answers a missing asset 404 NOT_FOUND (not index.html), under the console policy', async () => {
    const res = await t.http().get('/console/assets/index-000000.js');
    expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
    expectConsoleHeaders(res.headers);
  });

  it('serves /console/config.json from CONSOLE_VERIFIER_KEYS', async () => {
    const res = await t.http().get('/console/config.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ verifierKeys: [verifierKey] });
    expect(res.headers['cache-control']).toBe('no-cache');
    expectConsoleHeaders(res.headers);
  });

  it.each([
    '/console/../package.json',
    '/console/../secret.txt',
    '/console/assets/../../secret.txt',
    '/console/%2e%2e/secret.txt',
    '/console/%2E%2E/secret.txt',
    '/console/%2e%2e%2fsecret.txt',
    '/console/..%2fsecret.txt',
    '/console/.%2e/secret.txt',
    '/console/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/console/%252e%252e%252fsecret.txt',
    '/console/..%5csecret.txt',
    '/console/..\\secret.txt',
    '/console/.env',
    '/console/assets/../.env',
    '/console/./index.html',
    '/console//etc/passwd',
    '/console/%2fetc%2fpasswd',
    '/console/index.html%00.js',
    '/console/assets/linked-out.js',
  ])('answers %s with 404 and nothing of the file', async (path) => {
    const res = await rawGet(port, path);
    expect([path, res.status]).toEqual([path, 404]);
    expect(res.body).not.toContain(SECRET);
    expect(res.body).not.toContain('"name": "conversation-service"');
    expect(JSON.parse(res.body)).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    t.openapi.assertValid({
      method: 'get',
      url: path,
      status: res.status,
      headers: res.headers as never,
      text: res.body,
    });
  });

  it('answers 503 CONSOLE_NOT_BUILT while the console is not built, and serves it once it is', async () => {
    const away = `${files.dir}-away`;
    renameSync(files.dir, away);
    try {
      for (const path of ['/console', '/console/', '/console/ends', '/console/assets/index-3f9a1c.js']) {
        const res = await t.http().get(path);
        expect([path, res.status, res.body.code]).toEqual([path, 503, 'CONSOLE_NOT_BUILT']);
        expectConsoleHeaders(res.headers);
      }
      // The configuration is not a file of the build.
      expect((await t.http().get('/console/config.json')).status).toBe(200);
    } finally {
      renameSync(away, files.dir);
    }
    expect((await t.http().get('/console')).status).toBe(200);
  });

  it('refuses other methods with 405 and Allow', async () => {
    const res = await t.http().post('/console/ends').send({});
    expect([res.status, res.body.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
  });
});

describe('The console files under the address rate limit', () => {
  let t: TestApp;
  let files: { parent: string; dir: string };

  beforeAll(async () => {
    files = fakeConsole();
    t = await startTestApp({ CONSOLE_DIR: files.dir, RATE_LIMIT_PER_ADDRESS: '1', RATE_LIMIT_ADDRESS_BURST: '5' });
  });
  afterAll(async () => {
    await t.close();
    rmSync(files.parent, { recursive: true, force: true });
  });

  it('answers a flood of /console with 429 RATE_LIMITED', async () => {
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await t.http().get('/console/assets/index-3f9a1c.js'));
    const statuses = answers.map((res) => res.status);
    expect(answers.at(-1)?.body.code).toBe('RATE_LIMITED');
    expectConsoleHeaders(answers.at(-1)!.headers);
    // The burst (5) is partly spent by the start's own reads; the flood runs it out all the same.
    expect(statuses[0]).toBe(200);
    expect(statuses.at(-1)).toBe(429);
  });
});
