import { type ConversationState, initialState } from '@app/conversation';
import { StateCache } from './state-cache';

const at = (version: number): { state: ConversationState; bytes: number } => ({
  state: { ...initialState(), version },
  bytes: version * 10,
});

describe(StateCache.name, () => {
  it('forgets the least recently used conversations once the events held pass its bound', () => {
    const cache = new StateCache(30);
    cache.set('a', at(9));
    cache.set('b', at(9));
    cache.set('c', at(9));
    expect(cache.get('a')?.bytes).toBe(90); // now the most recent
    cache.set('d', at(9));
    expect(
      [cache.get('a'), cache.get('b'), cache.get('c'), cache.get('d')].map((e) => e?.state.version ?? null),
    ).toEqual([9, null, 9, 9]);
    expect(cache.events).toBe(30);
  });

  it('weighs a conversation by its events, again when it is set after growing', () => {
    const cache = new StateCache(100);
    cache.set('a', at(10));
    cache.set('a', at(50));
    expect(cache.events).toBe(51);
    expect(cache.size).toBe(1);
    cache.set('b', at(60));
    expect(cache.get('a')).toBeUndefined();
  });

  it('keeps nothing larger than its bound, and nothing at all with a bound of 0', () => {
    const cache = new StateCache(10);
    cache.set('big', at(10));
    expect(cache.get('big')).toBeUndefined();
    const off = new StateCache(0);
    off.set('a', at(0));
    expect(off.size).toBe(0);
  });

  it('drops an entry on delete', () => {
    const cache = new StateCache(100);
    cache.set('a', at(3));
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.events).toBe(0);
  });
});
