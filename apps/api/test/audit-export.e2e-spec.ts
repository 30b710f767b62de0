import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { comparePositions, PostgresEventStore } from '@app/event-store';
import { UsageError } from '../../cli/src/args';
import { defaultExportFile, exportCommand, manifestFileOf } from '../../cli/src/commands/export.command';
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

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface Export {
  bytes: Buffer;
  /** Everything before the manifest line. */
  head: Buffer;
  lines: { type: string; end: Record<string, unknown>; events: Record<string, unknown>[] }[];
  manifestText: string;
  manifest: { type: string; count: number; sha256: string; filters: Record<string, unknown>; position: string };
}

function parseExport(bytes: Buffer): Export {
  const text = bytes.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  const cut = text.lastIndexOf('\n', text.length - 2) + 1;
  const manifestText = text.slice(cut, -1);
  const head = bytes.subarray(0, Buffer.byteLength(text.slice(0, cut)));
  const lines = head.length ? head.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l)) : [];
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
    const res = await client.get(`/v1/audit/export?waitFor=${position}${query ? `&${query}` : ''}`).buffer(true).parse(binary);
    expect(res.status).toBe(200);
    return { res, exp: parseExport(res.body as Buffer) };
  };
  const silent = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
  };

  beforeAll(async () => {
    t = await startTestApp();
    auditorAll = as(t, await t.key('auditor', '*'));
    auditorAcme = as(t, await t.key('auditor', 'acme'));
    const store = t.app.get(PostgresEventStore);
    for (const s of SEEDED) position = (await seedConversation(store, s)).result.position;
    const reviewed = await auditorAll.post(`/v1/audit/conversations/${SEEDED[1].conversationId}/reviews`, {
      endEventId: (await auditorAll.get(`/v1/audit/ends?waitFor=${position}&from=${SEEDED[1].endedAt}&to=2025-04-02T09:02:00Z`)).body.items[0].endEventId,
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
      const listed = (await walkPages((cursor) => auditorAll.get(`/v1/audit/ends?waitFor=${position}&limit=7${cursor ? `&cursor=${cursor}` : ''}`))).flat();
      expect(listed).toHaveLength(SEEDED.length);
      expect(exp.lines.map((l) => l.type)).toEqual(listed.map(() => 'end'));
      expect(exp.lines.map((l) => l.end)).toEqual(listed);
      expect(exp.lines.find((l) => l.end.conversationId === SEEDED[1].conversationId)!.end.reviewOutcome).toBe('upheld');
      for (const line of [exp.lines[0], exp.lines[exp.lines.length - 1]]) {
        const events = await auditorAll.get(`/v1/conversations/${line.end.conversationId}/events?limit=500`);
        expect(line.events).toEqual(events.body.items);
      }
    });

    it('closes with the manifest: count, the SHA-256 of every byte before it, the filters and the position', async () => {
      const { exp } = await download(auditorAll);
      expect(Object.keys(exp.manifest)).toEqual(['type', 'count', 'sha256', 'filters', 'position']);
      expect(exp.manifestText).toBe(JSON.stringify(exp.manifest));
      expect(exp.manifest).toMatchObject({ type: 'manifest', count: SEEDED.length, filters: {} });
      expect(exp.manifest.sha256).toBe(sha256(exp.head));
      expect(exp.manifest.sha256).not.toBe(sha256(Buffer.concat([exp.head, Buffer.from(' ')])));
      const { rows } = await t.db.pool.query("SELECT position FROM projection_checkpoints WHERE name = 'ends'");
      expect(exp.manifest.position).toBe(rows[0].position);
      expect(comparePositions(exp.manifest.position, position)).toBeGreaterThanOrEqual(0);
      // Every event in the export is at or before the manifest's position.
      const positions = exp.lines.flatMap((l) => l.events.map((e) => e.position as string));
      expect(positions.every((p) => comparePositions(p, exp.manifest.position) <= 0)).toBe(true);
    });

    it('takes the filters of /ends and writes them, normalised, into the manifest', async () => {
      const { exp } = await download(auditorAll, 'reasonCode=USER_REQUESTED&from=2025-04-01&to=2025-04-30T00:00:00%2B02:00');
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

  describe('npm run cli -- export', () => {
    it('writes the same bytes as the HTTP export, the manifest beside them, and prints the SHA-256 last', async () => {
      const out = join(dir, 'all.jsonl');
      const { io, out: stdout, err } = silent();
      expect(await exportCommand(t.db.pool, { format: 'jsonl', out }, io)).toBe(0);
      const http = (await download(auditorAll)).exp;
      const file = readFileSync(out);
      expect(file.equals(http.bytes)).toBe(true);
      expect(JSON.parse(readFileSync(manifestFileOf(out), 'utf8'))).toEqual(http.manifest);
      expect(stdout.at(-1)).toBe(sha256(parseExport(file).head));
      expect(err.join('\n')).toContain(`exported ${SEEDED.length} ends`);
    });

    it('applies the filters given as flags', async () => {
      const out = join(dir, 'requested.jsonl');
      const { io, out: stdout } = silent();
      await exportCommand(t.db.pool, { format: 'jsonl', out, reasonCode: 'USER_REQUESTED', tenantId: 'globex', from: '2025-04-01' }, io);
      const http = (await download(auditorAll, 'reasonCode=USER_REQUESTED&tenantId=globex&from=2025-04-01')).exp;
      expect(readFileSync(out).equals(http.bytes)).toBe(true);
      expect(http.manifest.count).toBe(GLOBEX);
      expect(stdout).toEqual([http.manifest.sha256]);
    });

    it('refuses bad flags before writing anything, and never overwrites a file', async () => {
      const out = join(dir, 'refused.jsonl');
      const refused: Record<string, string | true>[] = [
        { out },
        { format: 'csv', out },
        { format: 'jsonl', out, reasonCode: 'RUDENESS' },
        { format: 'jsonl', out, from: '2025-02-30' },
        { format: 'jsonl', out, colour: 'red' },
        { format: 'jsonl', out, modelId: true },
      ];
      for (const flags of refused) {
        await expect(exportCommand(t.db.pool, flags, silent().io)).rejects.toBeInstanceOf(UsageError);
      }
      expect(() => readFileSync(out)).toThrow();
      writeFileSync(out, 'keep me');
      await expect(exportCommand(t.db.pool, { format: 'jsonl', out }, silent().io)).rejects.toThrow(/EEXIST/);
      expect(readFileSync(out, 'utf8')).toBe('keep me');
    });

    it('names its file audit-export-<timestamp>.jsonl by default', () => {
      expect(defaultExportFile(new Date('2025-08-20T10:11:12.123Z'))).toBe('audit-export-2025-08-20T10-11-12-123Z.jsonl');
      expect(manifestFileOf('audit-export-2025-08-20T10-11-12-123Z.jsonl')).toBe('audit-export-2025-08-20T10-11-12-123Z.manifest.json');
    });
  });
});
