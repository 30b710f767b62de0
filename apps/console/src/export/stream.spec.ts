import { createHash } from 'node:crypto';
import { checkNdjson, readAll } from './stream';

const enc = new TextEncoder();
const body = '{"type":"end","n":1}\n{"type":"end","n":2}\n';
const manifestOf = (text: string) =>
  `{"type":"manifest","count":2,"sha256":"${createHash('sha256').update(text).digest('hex')}"}\n`;

describe('the export check', () => {
  it('hashes exactly the bytes before the manifest line', async () => {
    const check = await checkNdjson(enc.encode(body + manifestOf(body)));
    expect(check.manifestSha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(check.computedSha256).toBe(check.manifestSha256);
    expect(check.records).toBe(2);
  });

  it('shows a difference when a byte before the manifest changed', async () => {
    const check = await checkNdjson(enc.encode(body.replace('"n":2', '"n":3') + manifestOf(body)));
    expect(check.computedSha256).not.toBe(check.manifestSha256);
  });

  it('says there is no manifest when the stream stopped early', async () => {
    const check = await checkNdjson(enc.encode(body));
    expect(check.manifestSha256).toBeNull();
    expect(check.records).toBe(2);
  });

  it('counts lines and bytes as chunks arrive', async () => {
    const chunks = [enc.encode('{"a":1}\n{"b"'), enc.encode(':2}\n')];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        chunks.forEach((c) => controller.enqueue(c));
        controller.close();
      },
    });
    const seen: { lines: number; bytes: number }[] = [];
    const all = await readAll(stream, (p) => seen.push(p));
    expect(seen).toEqual([
      { lines: 1, bytes: 12 },
      { lines: 2, bytes: 16 },
    ]);
    expect(new TextDecoder().decode(all)).toBe('{"a":1}\n{"b":2}\n');
  });
});
