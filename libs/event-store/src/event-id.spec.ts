import { newEventId, parseUuid } from './event-id';

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

describe(parseUuid.name, () => {
  it.each([
    ['lower case v4', '0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10', '0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10'],
    ['upper case v4', '0F8B6C1E-2F4A-4C7E-9A43-3D1C2B7A9E10', '0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10'],
    ['mixed case v7', '019Ace6F-6c00-7aBc-8DEF-0123456789aB', '019ace6f-6c00-7abc-8def-0123456789ab'],
    ['v1', 'C232AB00-9414-11EC-B3C8-9F6BDECED846', 'c232ab00-9414-11ec-b3c8-9f6bdeced846'],
    ['v8', '2489e9ad-2ee2-8e00-8ec9-32d5f69181c0', '2489e9ad-2ee2-8e00-8ec9-32d5f69181c0'],
    ['the Nil UUID', '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000'],
    ['the Max UUID', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  ])('accepts %s and gives it in lower case', (_, input, expected) => {
    expect(parseUuid(input)).toBe(expected);
  });

  it.each([
    ['surrounding spaces', ' 0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10 '],
    ['a trailing newline', '0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10\n'],
    ['braces', '{0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10}'],
    ['a urn:uuid: prefix', 'urn:uuid:0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10'],
    ['no hyphens', '0f8b6c1e2f4a4c7e9a433d1c2b7a9e10'],
    ['hyphens in other places', '0f8b-6c1e-2f4a-4c7e-9a43-3d1c-2b7a-9e10'],
    ['version 0 (not Nil)', '0f8b6c1e-2f4a-0c7e-9a43-3d1c2b7a9e10'],
    ['version 9', '0f8b6c1e-2f4a-9c7e-9a43-3d1c2b7a9e10'],
    ['the Microsoft variant', '0f8b6c1e-2f4a-4c7e-ca43-3d1c2b7a9e10'],
    ['the NCS variant', '0f8b6c1e-2f4a-4c7e-7a43-3d1c2b7a9e10'],
    ['a fullwidth digit', '０f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10'],
    ['an empty string', ''],
    ['a number', 42],
    ['null', null],
  ])('refuses %s', (_, input) => {
    expect(parseUuid(input)).toBeNull();
  });
});
