// The export read as a stream (fetch + ReadableStream: the typed client cannot stream), with progress,
// and the browser's own SHA-256 over every byte before the manifest line.
import { concat, sha256, toHex } from '../verify/bytes';

export interface Progress {
  lines: number;
  bytes: number;
}

/** Reads a body to its end, reporting lines (newlines) and bytes as they arrive. */
export async function readAll(
  body: ReadableStream<Uint8Array>,
  onProgress: (p: Progress) => void,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  const progress: Progress = { lines: 0, bytes: 0 };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    progress.bytes += value.length;
    for (const b of value) if (b === 0x0a) progress.lines++;
    onProgress({ ...progress });
  }
  return concat(...chunks);
}

export interface ExportCheck {
  /** The manifest line's `sha256` (what the server says). */
  manifestSha256: string | null;
  /** SHA-256 of the bytes before the manifest line, computed here. */
  computedSha256: string;
  manifest: Record<string, unknown> | null;
  /** Lines before the manifest. */
  records: number;
}

/** Splits off the last line (the manifest) and hashes what comes before it. */
export async function checkNdjson(bytes: Uint8Array): Promise<ExportCheck> {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  let start = end;
  while (start > 0 && bytes[start - 1] !== 0x0a) start--;
  const before = bytes.subarray(0, start);
  let manifest: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(start, end)));
    if (parsed && typeof parsed === 'object' && (parsed as { type?: unknown }).type === 'manifest') {
      manifest = parsed as Record<string, unknown>;
    }
  } catch {
    manifest = null;
  }
  let records = 0;
  for (const b of before) if (b === 0x0a) records++;
  return {
    manifestSha256: manifest && typeof manifest.sha256 === 'string' ? manifest.sha256 : null,
    computedSha256: toHex(await sha256(manifest ? before : bytes)),
    manifest,
    records: manifest ? records : records + (end > start ? 1 : 0),
  };
}
