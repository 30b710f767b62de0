import { ApiError } from './api-error';
import { assertFewMembers, assertShallow, assertUtf8Charset, MAX_JSON_DEPTH } from './json-body';

const code = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (err) {
    return err instanceof ApiError ? `${err.status} ${err.code}` : String(err);
  }
};

describe('JSON body bounds', () => {
  it('counts brackets outside strings only, escaped quotes included', () => {
    const deepString = JSON.stringify({ a: '['.repeat(1_000) + '\\"{'.repeat(1_000) });
    expect(code(() => assertShallow(deepString))).toBeNull();
    expect(code(() => assertShallow('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)))).toBeNull();
    expect(code(() => assertShallow('['.repeat(MAX_JSON_DEPTH + 1)))).toBe('400 VALIDATION_FAILED');
    expect(code(() => assertShallow(`{"a":"\\\\"${',{"b":'.repeat(MAX_JSON_DEPTH)}`))).toBe('400 VALIDATION_FAILED');
  });

  it('refuses an object of more than 1,000 members, at any depth', () => {
    const wide = Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`k${i}`, i]));
    expect(code(() => assertFewMembers({ a: [{ b: wide }] }))).toBe('400 VALIDATION_FAILED');
    expect(code(() => assertFewMembers({ a: Array.from({ length: 5_000 }, () => ({ x: 1 })) }))).toBeNull();
  });

  it.each([
    ['application/json', null],
    ['application/json; charset=utf-8', null],
    ['application/json;charset="UTF-8"', null],
    ['application/json; charset=utf8', null],
    ['application/json; charset=utf-16', '415 UNSUPPORTED_MEDIA_TYPE'],
    ['application/json; charset=iso-8859-1', '415 UNSUPPORTED_MEDIA_TYPE'],
    ['application/json; charset=', '415 UNSUPPORTED_MEDIA_TYPE'],
  ])('reads the charset of %s', (type, expected) => {
    expect(code(() => assertUtf8Charset(type))).toBe(expected);
  });
});
