import { UsageError } from '../args';
import { DEFAULT_SEED_EVENTS, parseSeedFlags } from './seed.command';

const NOW = Date.parse('2026-12-06T03:14:59.500Z');
const DAY = 24 * 60 * 60 * 1000;

describe('seed flags', () => {
  it('given no flags, then it writes the default events over the 28 days before now', () => {
    const options = parseSeedFlags({}, NOW);
    expect(options.events).toBe(DEFAULT_SEED_EVENTS);
    expect(options.days).toBe(28);
    expect(new Date(options.from).toISOString()).toBe('2026-11-08T03:14:00.000Z');
    expect(options.from + options.days * DAY).toBeLessThanOrEqual(NOW);
  });

  it('given --days, then the seeded days still end now', () => {
    const options = parseSeedFlags({ days: '7' }, NOW);
    expect(new Date(options.from).toISOString()).toBe('2026-11-29T03:14:00.000Z');
  });

  it('given --from, then that day is the first', () => {
    expect(new Date(parseSeedFlags({ from: '2025-09-01' }, NOW).from).toISOString()).toBe('2025-09-01T00:00:00.000Z');
  });

  it('given bad values, then a usage error names the flag', () => {
    expect(() => parseSeedFlags({ events: '0' }, NOW)).toThrow(
      new UsageError('--events must be an integer from 1 to 100000000'),
    );
    expect(() => parseSeedFlags({ from: 'yesterday' }, NOW)).toThrow(UsageError);
  });
});
