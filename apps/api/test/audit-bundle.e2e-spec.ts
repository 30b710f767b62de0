import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { comparePositions } from '@app/event-store';
import { createSigningKeyFile } from '@app/transparency';
import { runVerifier } from '../../../libs/tlog/test/run-verifier';
import { AccessRecorder } from '../src/access-log/access-recorder';
import { Client, path, record, say, startConversation, THREAD, abusiveThread, endAtU3, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

const ORIGIN = 'e2e.example/bundle-log';
// The CLI as an operator runs it (built by `npm run build`): no import of another app.
const CLI = join(resolve(__dirname, '../../..'), 'dist/apps/cli/src/main.js');
const FILES = ['events.ndjson', 'proofs.ndjson', 'checkpoint.txt', 'verifier-key.txt', 'manifest.json', 'manifest.sig'];

const A1 = uuid(0xa01); // tenant-a, ended twice (a second end on a new branch)
const A2 = uuid(0xa02); // tenant-a, ended once; grows on a new branch while bundles are taken
const A3 = uuid(0xa03); // tenant-a, never ended: in no bundle
const B1 = uuid(0xb01); // tenant-b, ended once

interface Line {
  stored: { streamId: string; version: number; eventId: string; type: string; hash: string; position: string };
  plaintext?: Record<string, string | null>;
  contentErased?: true;
  end?: { endEventId: string; conversationId: string; tenantId: string; reasonCode: string };
}
interface Bundle {
  files: Map<string, Buffer>;
  lines: Line[];
  proofs: { streamId: string; version: number; treeSize: number; [more: string]: unknown }[];
  manifest: Record<string, unknown> & { count: number; position: string; checkpoint: { treeSize: number } };
}

/** The entries of a ustar archive (regular files), checked as a reader would. */
function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let at = 0; ;) {
    const header = tar.subarray(at, at + 512);
    expect(header.length).toBe(512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, length: number) =>
      header
        .subarray(from, from + length)
        .toString('utf8')
        .replace(/\0[\s\S]*$/, '');
    expect(field(257, 6)).toBe('ustar');
    expect(field(156, 1)).toBe('0');
    const size = parseInt(field(124, 12), 8);
    files.set(field(0, 100), tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function readBundle(files: Map<string, Buffer>): Bundle {
  const ndjson = (name: string) =>
    files
      .get(name)!
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
  return {
    files,
    lines: ndjson('events.ndjson'),
    proofs: ndjson('proofs.ndjson'),
    manifest: JSON.parse(files.get('manifest.json')!.toString('utf8')),
  };
}

const readDir = (dir: string) => readBundle(new Map(FILES.map((f) => [f, readFileSync(join(dir, f))])));

/** Reads the streamed body as bytes, whatever its content type. */
const binary = (res: unknown, done: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  const stream = res as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
};

/** Streams of a bundle in file order, each once, with its versions. */
function streamsOf(lines: Line[]): Map<string, number[]> {
  const streams = new Map<string, number[]>();
  for (const l of lines) streams.set(l.stored.streamId, [...(streams.get(l.stored.streamId) ?? []), l.stored.version]);
  return streams;
}

describe('Audit: the signed bundle', () => {
  let t: TestApp;
  let dir: string;
  let keyFile: string;
  let auditorAll: Client;
  let auditorA: Client;
  let writerA: Client;
  let writerB: Client;
  let pinned: string;
  let position = '';
  let bundles = 0;

  const remember = (p: string) => {
    if (!position || comparePositions(p, position) > 0) position = p;
  };

  /** GET /v1/audit/export?bundle=1, the archive saved under `dir`; returns its file and contents. */
  async function download(client: Client, query = ''): Promise<{ file: string; bundle: Bundle }> {
    const res = await client
      .get(`/v1/audit/export?bundle=1&waitFor=${position}${query ? `&${query}` : ''}`)
      .buffer(true)
      .parse(binary);
    expect([res.status, res.headers['content-type']]).toEqual([200, 'application/x-tar']);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-bundle-[0-9TZ-]+\.tar"$/);
    const file = join(dir, `bundle-${++bundles}.tar`);
    writeFileSync(file, res.body as Buffer);
    const files = untar(res.body as Buffer);
    expect([...files.keys()]).toEqual(FILES);
    return { file, bundle: readBundle(files) };
  }

  const verify = (target: string, key = pinned) => runVerifier(['--key', key, target]);

  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const env = {
      ...process.env,
      DATABASE_URL: t.db.runtimeUrl,
      MIGRATION_DATABASE_URL: t.db.url,
      SIGNING_KEY_FILE: keyFile,
    };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-e2e-'));
    keyFile = join(dir, 'signing-key.pem');
    createSigningKeyFile(keyFile);
    t = await startTestApp({ LOG_ORIGIN: ORIGIN, SIGNING_KEY_FILE: keyFile });
    auditorAll = as(t, await t.key('auditor', '*'));
    auditorA = as(t, await t.key('auditor', 'tenant-a'));
    writerA = as(t, await t.key('writer', 'tenant-a'));
    writerB = as(t, await t.key('writer', 'tenant-b'));

    for (const [writer, id] of [
      [writerA, A1],
      [writerA, A2],
      [writerB, B1],
    ] as const) {
      await startConversation(writer, id);
      await abusiveThread(writer, id, 2);
      remember((await endAtU3(writer, id, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' })).position);
    }
    // A1's second end: the person edits u2 (a new branch), asks to end, and the model ends it.
    const edited = uuid(0xe01);
    await say(writerA, A1, edited, THREAD.a1, 'user', 'Please end this conversation.');
    await record(writerA, A1, '/end-requests', { messageId: edited });
    const second = await writerA.post(path(A1, '/end'), {
      initiator: 'model',
      reasonCode: 'USER_REQUESTED',
      atMessageId: edited,
    });
    expect(second.status).toBe(201);
    remember(second.body.position);
    await startConversation(writerA, A3);
    await say(writerA, A3, uuid(0xe02), null, 'user', 'not ended');

    const keys = await auditorAll.get('/v1/audit/log/verifier-key');
    expect(keys.status).toBe(200);
    pinned = keys.body.verifierKey;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  describe('GET /v1/audit/export?bundle=1', () => {
    it('answers a ustar archive that the offline verifier accepts with the published key', async () => {
      const { file, bundle } = await download(auditorAll);
      const run = await verify(file);
      expect([run.code, run.stderr]).toEqual([0, '']);
      expect(run.stdout).toContain('verified');
      expect(run.stdout).not.toContain('not pinned');
      expect(bundle.files.get('verifier-key.txt')!.toString()).toBe(`${pinned}\n`);
      expect(bundle.files.get('checkpoint.txt')!.toString()).toBe(
        (await auditorAll.get('/v1/audit/log/checkpoints?limit=1')).body.items[0].note,
      );
    });

    it('holds every matching conversation once, from version 1, with each end beside its event', async () => {
      const { bundle } = await download(auditorAll);
      const streams = streamsOf(bundle.lines);
      expect(new Set(streams.keys())).toEqual(new Set([A1, A2, B1].map((id) => `conversation-${id}`)));
      for (const [streamId, versions] of streams) {
        const { rows } = await t.db.pool.query(
          'SELECT max(stream_version)::int AS v FROM es_events WHERE stream_id = $1',
          [streamId],
        );
        expect(versions).toEqual(Array.from({ length: rows[0].v }, (_, i) => i + 1));
      }
      const ends = bundle.lines.filter((l) => l.end);
      expect(ends).toHaveLength(4);
      for (const l of ends) {
        expect(l.stored.type).toBe('ConversationEnded');
        expect(l.end!.endEventId).toBe(l.stored.eventId);
      }
      expect(ends.filter((l) => l.end!.conversationId === A1).map((l) => l.end!.reasonCode)).toEqual([
        'ABUSE_OF_ASSISTANT',
        'USER_REQUESTED',
      ]);
      // One proof per conversation, of its last exported event, at the checkpoint's size.
      expect(bundle.proofs.map((p) => [p.streamId, p.version, p.treeSize])).toEqual(
        [...streams].map(([s, v]) => [s, v.at(-1), bundle.manifest.checkpoint.treeSize]),
      );
      // The same proofs as the log's own inclusion answer at that size.
      for (const p of bundle.proofs) {
        const res = await auditorAll.get(
          `/v1/audit/log/inclusion?streamId=${p.streamId}&version=${p.version}&treeSize=${p.treeSize}`,
        );
        expect(res.status).toBe(200);
        expect(p).toEqual({ streamId: p.streamId, version: p.version, eventId: expect.any(String), ...res.body });
      }
      expect(bundle.manifest).toMatchObject({
        type: 'manifest',
        origin: ORIGIN,
        count: bundle.lines.length,
        conversations: 3,
        ends: 4,
        filters: {},
      });
      expect(bundle.lines.every((l) => comparePositions(l.stored.position, bundle.manifest.position) <= 0)).toBe(true);
    });

    it('fails offline when a byte of a real bundle’s content is changed', async () => {
      const { file } = await download(auditorAll);
      const tar = readFileSync(file);
      // The text is sealed in `stored` (what is hashed): a byte of its ciphertext changed.
      const at = tar.indexOf('"ct":"') + 6;
      expect(at).toBeGreaterThan(6);
      tar[at] = tar[at] === 'A'.charCodeAt(0) ? 'B'.charCodeAt(0) : 'A'.charCodeAt(0);
      writeFileSync(file, tar);
      const run = await verify(file);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/FAILED: events\.ndjson line \d+ \(stream conversation-[0-9a-f-]+ version \d+\)/);
    });

    it('keeps a tenant auditor to its tenant, and gives another tenant’s id (any case) an empty bundle', async () => {
      const own = await download(auditorA);
      expect(new Set(streamsOf(own.bundle.lines).keys())).toEqual(
        new Set([`conversation-${A1}`, `conversation-${A2}`]),
      );
      expect(own.bundle.manifest.filters).toEqual({ tenantId: 'tenant-a' });
      expect((await verify(own.file)).code).toBe(0);
      for (const tenantId of ['tenant-b', 'TENANT-B']) {
        const other = await download(auditorA, `tenantId=${tenantId}`);
        expect([other.bundle.lines, other.bundle.proofs, other.bundle.manifest.count]).toEqual([[], [], 0]);
        expect((await verify(other.file)).code).toBe(0);
      }
      // A key of every tenant asking for TENANT-B asks for a tenant that has nothing.
      const upper = await download(auditorAll, 'tenantId=TENANT-B');
      expect(upper.bundle.manifest.count).toBe(0);
      const b = await download(auditorAll, 'tenantId=tenant-b');
      expect([...streamsOf(b.bundle.lines).keys()]).toEqual([`conversation-${B1}`]);
    });

    it('is recorded in the access log: one entry per tenant read, naming its conversations', async () => {
      const res = await auditorAll
        .get(`/v1/audit/export?bundle=1&waitFor=${position}`)
        .set('X-Request-Id', 'read-bundle')
        .buffer(true)
        .parse(binary);
      expect(res.status).toBe(200);
      await t.app.get(AccessRecorder).writer.flush();
      const { rows } = await t.db.pool.query<{ data: { tenantId: string; conversationIds: string[]; route: string } }>(
        `SELECT data FROM es_events WHERE stream_id LIKE 'access-%' AND data->>'requestId' = 'read-bundle'
          ORDER BY data->>'tenantId'`,
      );
      expect(rows.map(({ data }) => [data.tenantId, [...data.conversationIds].sort(), data.route])).toEqual([
        ['tenant-a', [A1, A2].sort(), '/v1/audit/export'],
        ['tenant-b', [B1], '/v1/audit/export'],
      ]);
    });

    it('gives a valid empty bundle when no end matches the filters', async () => {
      const { file, bundle } = await download(auditorAll, 'reasonCode=OPERATOR_ACTION');
      expect(bundle.manifest).toMatchObject({ count: 0, conversations: 0, ends: 0 });
      expect(bundle.files.get('events.ndjson')!.length).toBe(0);
      const run = await verify(file);
      expect([run.code, run.stdout]).toEqual([0, expect.stringContaining('verified')]);
    });

    it('stays consistent while messages are appended concurrently', async () => {
      // A2 grows on a new branch (from a1, before its end) while bundles are taken.
      let parent: string = THREAD.a1;
      let stop = false;
      let appended = 0;
      const appending = (async () => {
        while (!stop) {
          const id = uuid(0xc000 + appended);
          remember(
            (
              await writerA.post(path(A2, '/messages'), {
                messageId: id,
                parentMessageId: parent,
                role: appended % 2 ? 'assistant' : 'user',
                content: `concurrent ${appended}`,
              })
            ).body.position,
          );
          parent = id;
          appended++;
        }
      })();
      const taken: Bundle[] = [];
      try {
        for (let i = 0; i < 4; i++) {
          const { file, bundle } = await download(auditorAll);
          const run = await verify(file);
          expect([run.code, run.stdout]).toEqual([0, expect.stringContaining('verified')]);
          taken.push(bundle);
        }
      } finally {
        stop = true;
        await appending;
      }
      expect(appended).toBeGreaterThan(0);
      const a2 = (b: Bundle) => streamsOf(b.lines).get(`conversation-${A2}`)!;
      // Each bundle is a cut: A2's events in it are a prefix of its stream, as of the bundle's position.
      for (const b of taken) {
        const { rows } = await t.db.pool.query(
          `SELECT count(*)::int AS n FROM es_events WHERE stream_id = $1
              AND (transaction_id, position) <= ($2::xid8, $3::bigint)`,
          [`conversation-${A2}`, ...b.manifest.position.split('-')],
        );
        expect(a2(b).length).toBe(rows[0].n);
      }
      const lengths = taken.map((b) => a2(b).length);
      expect(lengths).toEqual([...lengths].sort((x, y) => x - y));
    });

    it('gives no tenant another tenant’s stream through a read-model row that names it, nor hides it', async () => {
      // A forged ends row (as from a read model built before the tenant checks): B1 under tenant-a.
      const forged = uuid(0xf01);
      await t.db.pool.query(
        `INSERT INTO rm_ends (end_event_id, conversation_id, tenant_id, reason_code, initiator, policy_version,
           ended_at, ended_at_message_id, redirection_count, version, position)
         SELECT $1, conversation_id, 'tenant-a', reason_code, initiator, policy_version, ended_at,
           ended_at_message_id, redirection_count, version, position
           FROM rm_ends WHERE conversation_id = $2`,
        [forged, B1],
      );
      try {
        const own = await download(auditorA);
        expect(new Set(streamsOf(own.bundle.lines).keys())).toEqual(
          new Set([`conversation-${A1}`, `conversation-${A2}`]),
        );
        const all = await download(auditorAll);
        const streams = streamsOf(all.bundle.lines);
        expect(streams.has(`conversation-${B1}`)).toBe(true);
        expect(all.bundle.lines.filter((l) => l.end?.conversationId === B1).map((l) => l.end!.tenantId)).toEqual([
          'tenant-b',
        ]);
        expect((await verify(all.file)).code).toBe(0);
      } finally {
        await t.db.pool.query('DELETE FROM rm_ends WHERE end_event_id = $1', [forged]);
      }
    });

    it('leaves no temporary directory behind once the archive is sent', async () => {
      await download(auditorAll);
      await download(auditorA, 'reasonCode=OPERATOR_ACTION');
      const left = () => readdirSync(tmpdir()).filter((name) => name.startsWith('audit-bundle-'));
      // Removed when the response closes, just after the client has the last byte.
      for (let i = 0; i < 100 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(left()).toEqual([]);
    });

    it('refuses a bundle value other than 0 or 1', async () => {
      const res = await auditorAll.get('/v1/audit/export?bundle=yes');
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('npm run cli -- export --bundle', () => {
    it('writes the bundle into a new directory; it verifies, and holds the HTTP bundle’s events', async () => {
      const http = (await download(auditorAll)).bundle;
      const out = join(dir, 'cli-bundle');
      const run = await cli('export', '--bundle', out);
      expect([run.code, run.stderr]).toEqual([0, expect.stringContaining('wrote a bundle of')]);
      expect(readdirSync(out).sort()).toEqual([...FILES].sort());
      const check = await verify(out);
      expect([check.code, check.stdout]).toEqual([0, expect.stringContaining('verified')]);
      const bundle = readDir(out);
      if (bundle.manifest.position === http.manifest.position) {
        expect(bundle.files.get('events.ndjson')!.equals(http.files.get('events.ndjson')!)).toBe(true);
      }
      expect(run.stdout.trim().split('\n').at(-1)).toMatch(/^[0-9a-f]{64}$/);
    });

    it('applies the filters; a changed byte of content fails offline', async () => {
      const out = join(dir, 'cli-filtered');
      mkdirSync(out);
      const run = await cli('export', '--bundle', out, '--tenantId', 'tenant-b');
      expect(run.code).toBe(0);
      const bundle = readDir(out);
      expect([...streamsOf(bundle.lines).keys()]).toEqual([`conversation-${B1}`]);
      expect(bundle.manifest.filters).toEqual({ tenantId: 'tenant-b' });
      expect((await verify(out)).code).toBe(0);
      const events = readFileSync(join(out, 'events.ndjson'));
      // Each sealed field's text beside the stored (sealed, hashed) event.
      const message = JSON.parse(events.toString('utf8').split('\n')[1]);
      expect(message.plaintext).toEqual({ content: 'Help me with my essay.' });
      expect(message.stored.data.content).toMatchObject({ enc: 'A256GCM' });
      // A byte of the stored ciphertext changed: its chain link fails.
      const at = events.indexOf('"ct":"') + 6;
      events[at] = events[at] === 'A'.charCodeAt(0) ? 'B'.charCodeAt(0) : 'A'.charCodeAt(0);
      writeFileSync(join(out, 'events.ndjson'), events);
      const tampered = await verify(out);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toMatch(/FAILED: events\.ndjson line 2 \(stream conversation-[0-9a-f-]+ version 2\)/);
    });

    it('refuses a directory that is not empty, and bad flags, writing nothing', async () => {
      const full = join(dir, 'not-empty');
      mkdirSync(full);
      writeFileSync(join(full, 'keep.txt'), 'keep me');
      const refused = await cli('export', '--bundle', full);
      expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('is not an empty directory')]);
      expect(readdirSync(full)).toEqual(['keep.txt']);
      const missing = join(dir, 'never');
      for (const [args, message] of [
        [['--bundle'], '--bundle needs a directory'],
        [['--bundle', missing, '--format', 'jsonl'], 'leave out --format'],
        [['--bundle', missing, '--reasonCode', 'RUDENESS'], '--reasonCode must be one of: '],
        [['--bundle', missing, '--colour', 'red'], 'unknown flag --colour'],
      ] as const) {
        const run = await cli('export', ...args);
        expect([run.code, run.stderr.split('\n')[0]]).toEqual([2, expect.stringContaining(message)]);
      }
      expect(existsSync(missing)).toBe(false);
    });
  });

  // Last: it erases tenant B's subject, which the tests above read.
  describe('after an erasure', () => {
    it('still verifies offline; the erased text is null beside its stored ciphertext', async () => {
      const adminB = as(t, await t.key('admin', 'tenant-b'));
      const erased = await adminB.post('/v1/subjects/subject-1/erasure', { reason: 'data subject request' });
      expect([erased.status, erased.body.conversations]).toEqual([200, 1]);
      // the erasure's events (tenant B's feed): the bundle is cut after them
      // (the feed shows an event once every older transaction has ended: polled)
      let items: { type: string; position: string }[] = [];
      for (let i = 0; i < 100 && !items.some((e) => e.type === 'SubjectErased'); i++) {
        if (i > 0) await new Promise((done) => setTimeout(done, 50));
        items = (await adminB.get(`/v1/events?limit=500&after=${position}`)).body.items;
      }
      expect(items.map((e) => e.type)).toEqual(expect.arrayContaining(['ContentErased', 'SubjectErased']));
      remember(items.at(-1)!.position);
      const { file, bundle } = await download(auditorAll);
      const run = await verify(file);
      expect([run.code, run.stderr]).toEqual([0, '']);
      expect(run.stdout).toContain('verified');
      const b1 = bundle.lines.filter((l) => l.stored.streamId === `conversation-${B1}`);
      expect(b1.at(-1)!.stored.type).toBe('ContentErased');
      const sealed = b1.filter((l) => l.plaintext);
      expect(sealed.length).toBeGreaterThan(0);
      for (const l of sealed) {
        expect(l.contentErased).toBe(true);
        expect(Object.values(l.plaintext!).every((v) => v === null)).toBe(true);
      }
      // tenant A's conversations (same subject id, another tenant) keep their text
      const a1 = bundle.lines.filter((l) => l.stored.streamId === `conversation-${A1}` && l.plaintext);
      expect(a1.every((l) => !l.contentErased && Object.values(l.plaintext!).every((v) => typeof v === 'string'))).toBe(
        true,
      );
    });
  });
});
