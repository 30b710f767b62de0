import { decodeSequenceCursor, decodeTimeCursor, encodeSequenceCursor, encodeTimeCursor } from './cursor';

const ID = '0000abcd-0000-4000-8000-00000000000f';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe(decodeTimeCursor.name, () => {
  it('reads back what encodeTimeCursor wrote, microseconds included', () => {
    const cursor = { time: '2025-03-03T10:00:00.000002Z', id: ID };
    expect(decodeTimeCursor(encodeTimeCursor(cursor))).toEqual(cursor);
  });

  it('keeps the order in the cursor: an oldest-first cursor is no newest-first one, and back', () => {
    const cursor = { time: '2025-03-03T10:00:00.000002Z', id: ID };
    const asc = encodeTimeCursor(cursor, 'asc');
    expect(decodeTimeCursor(asc, 'asc')).toEqual(cursor);
    expect(decodeTimeCursor(asc)).toBeNull();
    expect(decodeTimeCursor(encodeTimeCursor(cursor), 'asc')).toBeNull();
    expect(encodeTimeCursor(cursor, 'desc')).toBe(encodeTimeCursor(cursor));
  });

  it('reads an id in any letter case back in lower case', () => {
    expect(decodeTimeCursor(b64(['t', '2025-01-01T00:00:00.000000Z', ID.toUpperCase()]))).toEqual({
      time: '2025-01-01T00:00:00.000000Z',
      id: ID,
    });
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('{nope').toString('base64url')],
    ['an object', b64({ t: 1 })],
    ['a sequence cursor', encodeSequenceCursor('42')],
    ['31 February', b64(['t', '2025-02-31T00:00:00.000000Z', ID])],
    ['hour 24', b64(['t', '2025-01-01T24:00:00.000000Z', ID])],
    ['year 0', b64(['t', '0000-01-01T00:00:00.000000Z', ID])],
    ['millisecond precision', b64(['t', '2025-01-01T00:00:00.000Z', ID])],
    ['SQL in the time', b64(['t', "2025-01-01T00:00:00.000000Z' OR 1=1", ID])],
    ['SQL in the id', b64(['t', '2025-01-01T00:00:00.000000Z', "' OR 1=1 --"])],
    ['a very long value', 'a'.repeat(5000)],
    ['a number', 42],
  ])('refuses %s', (_, raw) => {
    expect(decodeTimeCursor(raw)).toBeNull();
  });
});

describe(decodeSequenceCursor.name, () => {
  it('reads back what encodeSequenceCursor wrote', () => {
    expect(decodeSequenceCursor(encodeSequenceCursor('9223372036854775807'))).toBe('9223372036854775807');
  });

  it.each([
    ['past bigint', b64(['p', '9223372036854775808'])],
    ['a negative number', b64(['p', '-1'])],
    ['a number, not text', b64(['p', 42])],
    ['a time cursor', encodeTimeCursor({ time: '2025-03-03T10:00:00.000002Z', id: ID })],
  ])('refuses %s', (_, raw) => {
    expect(decodeSequenceCursor(raw)).toBeNull();
  });
});
