import { InvalidEvent } from './errors';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * RFC 8785 (JCS) canonical JSON of a value, in one pass, refusing what jsonb cannot keep: a NUL
 * character or a lone UTF-16 surrogate in any string or key (InvalidEvent naming `what`); and a
 * key named "toJSON", which the verifier's canonicaliser would read as JSON.stringify does.
 * Otherwise JSON.stringify's meaning of a value: toJSON is called (dates), undefined, functions
 * and symbols are left out of objects and are null in arrays, non-finite numbers are null,
 * boxed primitives are unboxed, a bigint throws. Keys sort by UTF-16 code units, numbers and
 * strings are written as JSON.stringify writes them, which is what RFC 8785 prescribes.
 *
 * The one serialisation an append pays per event (it replaced a stringify/parse round trip to
 * clean the value and a second, general-purpose canonicaliser walk). The offline verifier and
 * the console keep an independent implementation (json-canonicalize); tests compare the two.
 */
export function canonicalJson(value: unknown, what = 'value'): string {
  const out = write(value, '', what);
  return out === undefined ? 'null' : out;
}

/** Canonical JSON written by the maker of a frozen object (see withCanonicalJson). */
const WRITTEN_AHEAD = Symbol('canonical JSON written ahead');

/** Under the tests (jest sets NODE_ENV=test) every text written ahead is checked against a walk. */
const CHECK_WRITTEN_AHEAD = process.env.NODE_ENV === 'test';

/**
 * `value`, frozen, whose canonical JSON is `json`: canonicalJson writes that text for it instead
 * of walking it. For objects made in bulk on the append path whose canonical form is known as they
 * are made (a content envelope: four fixed keys, base64 and UUID strings that need no escaping),
 * where the walk cost as much as the object's making. The maker vouches that `json` is what
 * canonicalJson would write; under the tests (NODE_ENV=test) every such text is compared with a
 * walk of the object, so every test that seals content checks it. Frozen, the object cannot drift.
 * The text rides on the object under a symbol that is not enumerable: JSON.stringify, Object.keys
 * and spreads do not see it, so a copy (`{ ...value }`) is walked as any object. (A WeakMap cost
 * 0.9 µs an object here, in the scavenger's ephemeron work; this, 0.2.)
 */
export function withCanonicalJson<T extends object>(value: T, json: string): Readonly<T> {
  if (CHECK_WRITTEN_AHEAD) {
    const walked = canonicalJson({ ...value });
    if (walked !== json) throw new Error(`canonical JSON written ahead differs from its walk: ${json} vs ${walked}`);
  }
  Object.defineProperty(value, WRITTEN_AHEAD, { value: json });
  return Object.freeze(value);
}

function write(value: unknown, key: string, what: string): string | undefined {
  if (value !== null && typeof value === 'object') {
    const ahead = (value as { [WRITTEN_AHEAD]?: string })[WRITTEN_AHEAD];
    if (ahead !== undefined) return ahead;
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      value = (value as { toJSON(key: string): unknown }).toJSON(key);
    }
  }
  switch (typeof value) {
    case 'string':
      return text(value, what);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError(`${what} holds a BigInt, which JSON cannot keep`);
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return array(value, what);
      if (value instanceof Number || value instanceof String || value instanceof Boolean) {
        return write(value.valueOf(), key, what);
      }
      return object(value as Record<string, unknown>, what);
    default:
      return undefined; // undefined, functions, symbols
  }
}

function array(values: unknown[], what: string): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += write(values[i], String(i), what) ?? 'null';
  }
  return `${out}]`;
}

function object(value: Record<string, unknown>, what: string): string {
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    // json-canonicalize (the offline verifier's) writes an object with a toJSON member as
    // JSON.stringify does, keys unsorted: such data would hash one way here and another there
    if (k === 'toJSON') throw new InvalidEvent(`${what} has a key "toJSON", which canonical JSON tools read apart`);
    const v = write(value[k], k, what);
    if (v === undefined) continue;
    out += first ? text(k, what) : `,${text(k, what)}`;
    out += `:${v}`;
    first = false;
  }
  return `${out}}`;
}

function text(s: string, what: string): string {
  if (s.includes('\u0000')) throw new InvalidEvent(`${what} contains a NUL character`);
  const json = JSON.stringify(s);
  // JSON.stringify writes a lone surrogate as \udXXX (jsonb refuses it); look closer then.
  if (json.includes('\\ud') && LONE_SURROGATE.test(s)) {
    throw new InvalidEvent(`${what} contains a lone UTF-16 surrogate`);
  }
  return json;
}
