import { newEventId } from './event-id';

describe(newEventId.name, () => {
  it('makes version 7 UUIDs that start with the time and sort by it', () => {
    const a = newEventId(1_764_400_000_000);
    const b = newEventId(1_764_400_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.replace(/-/g, '').slice(0, 12)).toBe((1_764_400_000_000).toString(16).padStart(12, '0'));
    expect(a < b).toBe(true);
    expect(newEventId(5)).not.toBe(newEventId(5));
  });
});

describe(`${newEventId.name}, random part`, () => {
  it('keeps the version and variant bits and gives distinct ids within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => newEventId(1_764_400_000_000));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^019ace6f-6c00-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
