import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { canonicalJson, withCanonicalJson } from './canonical-json';
import { InvalidEvent } from './errors';
import { canonicalBody, canonicalEvent, canonicalParts } from './hash-chain';

/** What the store did before: JSON.stringify/parse to clean, then the general canonicaliser. */
const reference = (value: unknown): string => canonicalize(JSON.parse(JSON.stringify(value) ?? 'null'));

/** Strings of any code points but NUL (what jsonb keeps): no lone surrogates. */
const keepable = fc
  .oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\n', '"', '\\', '\u2028', '\u007f', '\ufb33') }),
  )
  .map((s) => s.replace(/\u0000/g, ''));

/** Keys: any keepable string but "toJSON" (refused, below). */
const key = keepable.filter((k) => k !== 'toJSON');

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    keepable,
    fc.array(tie('value')),
    fc.dictionary(key, tie('value')),
  ),
})).value;

describe('canonicalJson (RFC 8785, as appends hash and send it)', () => {
  it('given any JSON value, when serialised, then it equals the general canonicaliser after a clean', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 2_000 },
    );
  });

  it('given the RFC 8785 number and ordering examples, then it writes them as the RFC does', () => {
    expect(canonicalJson({ numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001] })).toBe(
      '{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}',
    );
    expect(
      canonicalJson({
        '\u20ac': 'Euro Sign',
        '\r': 'Carriage Return',
        '\ufb33': 'Hebrew',
        '1': 'One',
        '\ud83d\ude00': 'Emoji',
        '\u0080': 'Control',
        '\u00f6': 'Latin',
      }),
    ).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin",' +
        '"€":"Euro Sign","😀":"Emoji","\ufb33":"Hebrew"}',
    );
  });

  it('given what JSON.stringify drops or converts, then it does the same', () => {
    const value = {
      skip: undefined,
      fn: () => 1,
      at: new Date('2026-01-02T03:04:05.678Z'),
      list: [undefined, () => 1, NaN, Infinity, -0],
      boxed: [new String('s'), new Number(2), new Boolean(false)],
      custom: { toJSON: (key: string) => ({ from: key }) },
    };
    expect(canonicalJson(value)).toBe(reference(value));
    expect(canonicalJson(value)).toBe(
      '{"at":"2026-01-02T03:04:05.678Z","boxed":["s",2,false],"custom":{"from":"custom"},' +
        '"list":[null,null,null,null,0]}',
    );
    expect(canonicalJson(undefined)).toBe('null');
    expect(() => canonicalJson({ big: BigInt(1) })).toThrow(TypeError);
  });

  it('given a NUL or a lone surrogate in a string or a key, then InvalidEvent names the field', () => {
    for (const bad of [
      { t: 'a\u0000b' },
      { 'a\u0000': 1 },
      { t: ['x', 'a\ud800b'] },
      { 'k\udc00': 1 },
      { t: '\ude00\ud83d' },
    ]) {
      expect(() => canonicalJson(bad, 'data')).toThrow(InvalidEvent);
      expect(() => canonicalJson(bad, 'data')).toThrow(/^data contains a /);
    }
    expect(canonicalJson({ t: '\ud83d\ude00', u: 'a \\u0000 \\ud800' })).toBe('{"t":"😀","u":"a \\\\u0000 \\\\ud800"}');
  });

  it('given a key named "toJSON" anywhere, then InvalidEvent (the verifier\'s canonicaliser reads it apart)', () => {
    for (const bad of [{ toJSON: 1 }, { a: { toJSON: 'x', b: 1 } }, [{ toJSON: null }]]) {
      expect(() => canonicalJson(bad, 'data')).toThrow(/^data has a key "toJSON"/);
    }
  });

  it('given objects of other kinds, then they are written as JSON.stringify writes them', () => {
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    const extra = Object.assign([1, 2], { skipped: true });
    const bare = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
    const getter = Object.defineProperty({}, 'g', { get: () => 'got', enumerable: true });
    const symbol = { [Symbol('s')]: 1, k: 2 };
    const nested = { inner: { toJSON: () => undefined }, kept: 1 };
    const root = { toJSON: () => ({ z: 1, a: [2] }) };
    for (const v of [sparse, extra, bare, getter, symbol, nested]) expect(canonicalJson(v)).toBe(reference(v));
    expect(canonicalJson(root)).toBe('{"a":[2],"z":1}');
  });

  it('given an event whose data or metadata is not an object, then InvalidEvent', () => {
    const e = { streamId: 's', type: 't', data: {}, metadata: {}, occurredAt: '2026-01-02T03:04:05.678Z' };
    for (const bad of [undefined, null, 'text', 1]) {
      expect(() => canonicalBody({ ...e, data: bad })).toThrow(InvalidEvent);
      expect(() => canonicalBody({ ...e, metadata: bad })).toThrow(/^metadata must be a JSON object/);
    }
  });

  it('given an event, then its canonical form and body are the general canonicaliser’s, version last', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, json),
        fc.dictionary(key, json),
        keepable,
        fc.nat(),
        (data, metadata, type, version) => {
          const e = { streamId: 'conversation-x', type, data, metadata, occurredAt: '2026-01-02T03:04:05.678Z' };
          const whole = reference({ ...e, version });
          expect(canonicalEvent({ ...e, version })).toBe(whole);
          expect(`${canonicalBody(e)}${version}}`).toBe(whole);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('canonicalParts (one serialisation per event, for its size and its append)', () => {
  it('given an event, when its parts are asked twice, then they are made once and the body is built from them', () => {
    const e = {
      streamId: 's',
      type: 'T',
      data: { b: 1, a: 'x' },
      metadata: { k: true },
      occurredAt: '2026-01-01T00:00:00.000Z',
    };
    const parts = canonicalParts(e);
    expect(parts).toEqual({ data: '{"a":"x","b":1}', metadata: '{"k":true}' });
    expect(canonicalParts(e)).toBe(parts);
    expect(canonicalBody(e, parts)).toBe(canonicalBody({ ...e }));
    expect(`${canonicalBody(e, parts)}1}`).toBe(canonicalEvent({ ...e, version: 1 }));
  });

  it('given a stored event verified, when verified again after a change, then the change is seen', () => {
    const e = {
      streamId: 's',
      type: 'T',
      data: { a: 1 },
      metadata: {},
      occurredAt: '2026-01-01T00:00:00.000Z',
      version: 1,
    };
    const before = canonicalEvent(e);
    e.data.a = 2;
    expect(canonicalEvent(e)).not.toBe(before);
    expect(canonicalEvent(e)).toContain('"a":2');
  });
});

describe("withCanonicalJson (canonical JSON written by an object's maker)", () => {
  it('given an object with its text written ahead, when serialised in a value, then the text is taken', () => {
    const ahead = withCanonicalJson({ b: 1, a: 'x' }, '{"a":"x","b":1}');
    const keys = jest.spyOn(Object, 'keys');
    // an object walked has its keys listed: count the calls on the objects at hand
    const listed = (o: object) => keys.mock.calls.filter(([of]) => of === o).length;
    try {
      const outer = { z: [ahead], y: ahead };
      const texts = [canonicalJson(ahead), canonicalJson(outer)];
      expect([listed(ahead), listed(outer)]).toEqual([0, 1]);
      expect(texts).toEqual(['{"a":"x","b":1}', '{"y":{"a":"x","b":1},"z":[{"a":"x","b":1}]}']);
    } finally {
      keys.mockRestore();
    }
  });

  it('given a text that is not the walk of its object, then the tests refuse it (NODE_ENV=test)', () => {
    expect(() => withCanonicalJson({ b: 1, a: 2 }, '{"b":1,"a":2}')).toThrow(/differs from its walk/);
    expect(() => withCanonicalJson({ a: 'x\u0000' }, '{"a":"x"}')).toThrow(InvalidEvent);
  });

  it('given such an object, then it is frozen and its text is seen by no one else: JSON, keys, a copy', () => {
    const ahead = withCanonicalJson({ b: 1, a: 2 }, '{"a":2,"b":1}');
    expect(Object.isFrozen(ahead)).toBe(true);
    expect(() => {
      (ahead as { a: number }).a = 3;
    }).toThrow(TypeError);
    expect(JSON.stringify(ahead)).toBe('{"b":1,"a":2}');
    expect(Object.keys(ahead)).toEqual(['b', 'a']);
    expect(ahead).toEqual({ a: 2, b: 1 });
    // a copy changed is walked as any object: it never takes the original's text along
    const copy = { ...ahead, a: 5 };
    expect(canonicalJson(copy)).toBe('{"a":5,"b":1}');
  });
});
