import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Response } from 'supertest';
import { comparePositions, PostgresEventStore } from '@app/event-store';
import { seedConversation, SeededEnd, walkPages } from './support/audit-fixtures';
import { Client, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

const SEEDED: SeededEnd[] = Array.from({ length: 60 }, (_, i) => ({
  conversationId: uuid(0x600 + i),
  tenantId: i % 12 === 0 ? 'globex' : 'acme',
  modelId: i % 12 === 0 ? 'claude-opus-4' : 'claude-opus-4-1',
  startedAt: `2025-04-${String(1 + (i % 28)).padStart(2, '0')}T08:00:00Z`,
  endedAt: `2025-04-${String(1 + (i % 28)).padStart(2, '0')}T09:${String(i).padStart(2, '0')}:00Z`,
  reasonCode: i % 12 === 0 ? 'USER_REQUESTED' : 'ABUSE_OF_ASSISTANT',
}));
const GLOBEX = SEEDED.filter((s) => s.tenantId === 'globex').length;

// The CLI as an operator runs it (built by `npm run build`): no import of another app.
const CLI = join(resolve(__dirname, '../../..'), 'dist/apps/cli/src/main.js');

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface Export {
  bytes: Buffer;
  /** Everything before the manifest line. */
  head: Buffer;
  lines: { type: string; end: Record<string, unknown>; events: Record<string, unknown>[] }[];
  manifestText: string;
  manifest: { type: string; count: number; sha256: string; filters: Record<string, unknown>; position: string };
}

/** A manifest without the position its export was cut at (BigInt-free: positions are strings). */
function withoutPosition(manifest: Record<string, unknown>): Record<string, unknown> {
  const { position, ...rest } = manifest;
  expect(typeof position).toBe('string');
  return rest;
}

function parseExport(bytes: Buffer): Export {
  const text = bytes.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  const cut = text.lastIndexOf('\n', text.length - 2) + 1;
  const manifestText = text.slice(cut, -1);
  const head = bytes.subarray(0, Buffer.byteLength(text.slice(0, cut)));
  const lines = head.length
    ? head
        .toString('utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];
  return { bytes, head, lines, manifestText, manifest: JSON.parse(manifestText) };
}

/** Reads the streamed body as bytes, whatever its content type. */
const binary = (res: unknown, done: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  const stream = res as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
};

describe('Audit: export', () => {
  let t: TestApp;
  let auditorAll: Client;
  let auditorAcme: Client;
  let position: string;
  let dir: string;

  const download = async (client: Client, query = ''): Promise<{ res: Response; exp: Export }> => {
    const res = await client
      .get(`/v1/audit/export?waitFor=${position}${query ? `&${query}` : ''}`)
      .buffer(true)
      .parse(binary);
    expect(res.status).toBe(200);
    return { res, exp: parseExport(res.body as Buffer) };
  };
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const env = { ...process.env, DATABASE_URL: t.db.runtimeUrl, MIGRATION_DATABASE_URL: t.db.url };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    t = await startTestApp();
    auditorAll = as(t, await t.key('auditor', '*'));
    auditorAcme = as(t, await t.key('auditor', 'acme'));
    const store = t.app.get(PostgresEventStore);
    for (const s of SEEDED) position = (await seedConversation(store, s)).result.position;
    const reviewed = await auditorAll.post(`/v1/audit/conversations/${SEEDED[1].conversationId}/reviews`, {
      endEventId: (
        await auditorAll.get(`/v1/audit/ends?waitFor=${position}&from=${SEEDED[1].endedAt}&to=2025-04-02T09:02:00Z`)
      ).body.items[0].endEventId,
      outcome: 'upheld',
    });
    expect(reviewed.status).toBe(201);
    position = reviewed.body.position;
    dir = mkdtempSync(join(tmpdir(), 'audit-export-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  describe('GET /v1/audit/export', () => {
    it('streams one NDJSON line per end, as /ends lists them, each with its conversation’s events', async () => {
      const { res, exp } = await download(auditorAll);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const listed = (
        await walkPages((cursor) =>
          auditorAll.get(`/v1/audit/ends?waitFor=${position}&limit=7${cursor ? `&cursor=${cursor}` : ''}`),
        )
      ).flat();
      expect(listed).toHaveLength(SEEDED.length);
      expect(exp.lines.map((l) => l.type)).toEqual(listed.map(() => 'end'));
      expect(exp.lines.map((l) => l.end)).toEqual(listed);
      expect(exp.lines.find((l) => l.end.conversationId === SEEDED[1].conversationId)!.end.reviewOutcome).toBe(
        'upheld',
      );
      for (const line of [exp.lines[0], exp.lines[exp.lines.length - 1]]) {
        const events = await auditorAll.get(`/v1/conversations/${line.end.conversationId}/events?limit=500`);
        expect(line.events).toEqual(events.body.items);
      }
    });

    it(
      'closes with the manifest: count, ' + 'the SHA-256 of every byte before it, the filters and the position',
      async () => {
        const { exp } = await download(auditorAll);
        expect(Object.keys(exp.manifest)).toEqual(['type', 'count', 'sha256', 'filters', 'position']);
        expect(exp.manifestText).toBe(JSON.stringify(exp.manifest));
        expect(exp.manifest).toMatchObject({ type: 'manifest', count: SEEDED.length, filters: {} });
        expect(exp.manifest.sha256).toBe(sha256(exp.head));
        expect(exp.manifest.sha256).not.toBe(sha256(Buffer.concat([exp.head, Buffer.from(' ')])));
        const { rows } = await t.db.pool.query("SELECT position FROM projection_checkpoints WHERE name = 'ends'");
        // The checkpoint may have moved on since: reads append access entries, which it passes over.
        expect(comparePositions(exp.manifest.position, rows[0].position)).toBeLessThanOrEqual(0);
        expect(comparePositions(exp.manifest.position, position)).toBeGreaterThanOrEqual(0);
        // Every event in the export is at or before the manifest's position.
        const positions = exp.lines.flatMap((l) => l.events.map((e) => e.position as string));
        expect(positions.every((p) => comparePositions(p, exp.manifest.position) <= 0)).toBe(true);
      },
    );

    it('takes the filters of /ends and writes them, normalised, into the manifest', async () => {
      const { exp } = await download(
        auditorAll,
        'reasonCode=USER_REQUESTED&from=2025-04-01&to=2025-04-30T00:00:00%2B02:00',
      );
      expect(exp.lines.map((l) => l.end.reasonCode)).toEqual(Array(GLOBEX).fill('USER_REQUESTED'));
      expect(exp.manifest).toMatchObject({
        count: GLOBEX,
        filters: { reasonCode: 'USER_REQUESTED', from: '2025-04-01T00:00:00.000Z', to: '2025-04-29T22:00:00.000Z' },
      });
      expect(exp.manifest.sha256).toBe(sha256(exp.head));
    });

    it("keeps a tenant key to its tenant, and another tenant's export empty", async () => {
      const acme = (await download(auditorAcme)).exp;
      expect(acme.manifest).toMatchObject({ count: SEEDED.length - GLOBEX, filters: { tenantId: 'acme' } });
      expect(new Set(acme.lines.map((l) => l.end.tenantId))).toEqual(new Set(['acme']));
      const foreign = (await download(auditorAcme, 'tenantId=globex')).exp;
      expect(foreign.lines).toEqual([]);
      expect(foreign.manifest).toMatchObject({ count: 0, sha256: sha256(''), filters: { tenantId: 'globex' } });
    });
  });

  it('answers bundle=1 with 503 NO_SIGNING_KEY when this process has no signing key to sign it', async () => {
    const res = await auditorAll.get(`/v1/audit/export?bundle=1&waitFor=${position}`);
    expect([res.status, res.body.code]).toEqual([503, 'NO_SIGNING_KEY']);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  describe('npm run cli -- export', () => {
    it('writes the same bytes as the HTTP export, the manifest beside them, and prints the SHA-256 last', async () => {
      const out = join(dir, 'all.jsonl');
      const run = await cli('export', '--format', 'jsonl', '--out', out);
      expect(run.code).toBe(0);
      const http = (await download(auditorAll)).exp;
      const file = readFileSync(out);
      // The same ends, byte for byte; the manifests differ at most in the position each export was
      // cut at (the access entries the two exports record move the read models on in between).
      const exported = parseExport(file);
      expect(exported.head.equals(http.head)).toBe(true);
      expect(withoutPosition(exported.manifest)).toEqual(withoutPosition(http.manifest));
      expect(withoutPosition(JSON.parse(readFileSync(`${join(dir, 'all')}.manifest.json`, 'utf8')))).toEqual(
        withoutPosition(http.manifest),
      );
      expect(run.stdout.trim().split('\n').at(-1)).toBe(sha256(parseExport(file).head));
      expect(run.stderr).toContain(`exported ${SEEDED.length} ends`);
    });

    it('applies the filters given as flags', async () => {
      const out = join(dir, 'requested.jsonl');
      const filters = ['--reasonCode', 'USER_REQUESTED', '--tenantId', 'globex', '--from', '2025-04-01'];
      const run = await cli('export', '--format', 'jsonl', '--out', out, ...filters);
      expect(run.code).toBe(0);
      const http = (await download(auditorAll, 'reasonCode=USER_REQUESTED&tenantId=globex&from=2025-04-01')).exp;
      const exported = parseExport(readFileSync(out));
      expect(exported.head.equals(http.head)).toBe(true);
      expect(withoutPosition(exported.manifest)).toEqual(withoutPosition(http.manifest));
      expect(http.manifest.count).toBe(GLOBEX);
      expect(run.stdout.trim()).toBe(http.manifest.sha256);
    });

    it('refuses bad flags (exit 2, naming the flag) before writing anything, and never overwrites a file', async () => {
      const out = join(dir, 'refused.jsonl');
      const refused: [string[], string][] = [
        [['--out', out], '--format jsonl is required'],
        [['--format', 'csv', '--out', out], '--format jsonl is required'],
        [['--format', 'jsonl', '--out', out, '--reasonCode', 'RUDENESS'], '--reasonCode must be one of: '],
        [['--format', 'jsonl', '--out', out, '--from', '2025-02-30'], 'from must be a real calendar date'],
        [['--format', 'jsonl', '--out', out, '--colour', 'red'], 'unknown flag --colour'],
        [['--format', 'jsonl', '--out', out, '--modelId'], '--modelId needs a value'],
      ];
      for (const [args, message] of refused) {
        const run = await cli('export', ...args);
        expect([run.code, run.stderr.split('\n')[0]]).toEqual([2, expect.stringContaining(message)]);
      }
      expect(existsSync(out)).toBe(false);
      writeFileSync(out, 'keep me');
      const again = await cli('export', '--format', 'jsonl', '--out', out);
      expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('EEXIST')]);
      expect(readFileSync(out, 'utf8')).toBe('keep me');
    });
  });
});
