import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { DestinationStream } from 'pino';
import { bufferedStdout } from './log-destination';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
/** Ends the stream, which closes its file. */
const closed = (stream: DestinationStream) =>
  new Promise<void>((done) => {
    const s = stream as unknown as NodeJS.WritableStream & { on(e: 'close', f: () => void): void };
    s.on('close', done);
    s.end();
  });

describe('bufferedStdout', () => {
  let dir: string;
  let fd: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'log-destination-'));
    fd = openSync(join(dir, 'log'), 'w');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds lines back (no write per line) and writes them within the flush interval', async () => {
    const stream = bufferedStdout(200, fd);
    const logger = pino({ base: null }, stream);
    logger.info({ n: 1 }, 'first');
    logger.info({ n: 2 }, 'second');
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('');
    await sleep(600);
    const lines = readFileSync(join(dir, 'log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(['first', 'second']);
    await closed(stream);
  });

  it('writes at once when 8 kB have gathered', async () => {
    const stream = bufferedStdout(60_000, fd);
    const logger = pino({ base: null }, stream);
    for (let i = 0; i < 100; i++) logger.info({ filler: 'x'.repeat(100) }, `line ${i}`);
    await sleep(100);
    expect(readFileSync(join(dir, 'log'), 'utf8').length).toBeGreaterThan(8192);
    await closed(stream);
  });
});
