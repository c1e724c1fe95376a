import t from 'tap';
import fc from 'fast-check';
import { FUZZ_SEED } from '../../shared/test/hostile.js';
import {
  applyTraits,
  compareVersions,
  emptyTraitMap,
  mergeTraitMaps,
  sameTraitMaps,
  type TraitMap,
  type Version,
} from '../src/traits/trait-map.js';

const apply = (m: TraitMap, u: Record<string, unknown>, v: Version) =>
  applyTraits(m, new Map(Object.entries(u)), v);
const values = (m: TraitMap) => Object.fromEntries(m.values);

t.test('versions order by event time, then messageId', async (t) => {
  t.ok(compareVersions([1, 'b'], [2, 'a']) < 0);
  t.ok(compareVersions([2, 'a'], [2, 'b']) < 0);
  t.equal(compareVersions([2, 'a'], [2, 'a']), 0);
});

t.test('a newer record wins per trait; an older one still fills what no newer one set', async (t) => {
  let m = apply(emptyTraitMap(), { email: 'new@x', plan: 'pro' }, [200, 'm2']);
  m = apply(m, { email: 'old@x', phone: '1' }, [100, 'm1']);
  t.same(values(m), { email: 'new@x', plan: 'pro', phone: '1' });
  t.same(m.times.get('phone'), [100, 'm1']);
});

t.test('clearing is a write: an older record cannot bring the value back', async (t) => {
  let m = apply(emptyTraitMap(), { email: null }, [200, 'm2']);
  m = apply(m, { email: 'old@x' }, [100, 'm1']);
  t.same(values(m), {});
  t.same(m.times.get('email'), [200, 'm2']);
});

t.test(
  'a value without a recorded time is older than any record, and survives merges with none',
  async (t) => {
    const legacy: TraitMap = { values: new Map([['email', 'legacy@x']]), times: new Map() };
    t.same(values(apply(legacy, { email: 'new@x' }, [1, 'a'])), { email: 'new@x' });
    const other: TraitMap = { values: new Map([['email', 'other@x']]), times: new Map() };
    t.same(values(mergeTraitMaps(legacy, other)), { email: 'legacy@x' }, 'a tie keeps the survivor');
    t.same(values(mergeTraitMaps(emptyTraitMap(), other)), { email: 'other@x' }, 'and fills a gap');
  },
);

// Records: a handful of keys, values and times, so that collisions (same key, same time) happen.
const record = fc.record({
  time: fc.integer({ min: 1, max: 6 }),
  messageId: fc.constantFrom('a', 'b', 'c', 'd'),
  updates: fc.dictionary(
    fc.constantFrom('email', 'phone', 'custom_attributes.plan'),
    fc.option(fc.string(), { nil: null }),
    {
      maxKeys: 3,
    },
  ),
});
// One messageId is one record: the same (time, messageId) always carries the same updates.
const records = fc
  .array(record, { maxLength: 12 })
  .map((rs) => [...new Map(rs.map((r) => [`${r.time}/${r.messageId}`, r])).values()]);

interface Rec {
  time: number;
  messageId: string;
  updates: Record<string, string | null>;
}
const applyAll = (rs: readonly Rec[], start = emptyTraitMap()) =>
  rs.reduce((m, r) => apply(m, r.updates, [r.time, r.messageId]), start);

t.test('any order, any replay, any split into two profiles merged: the same traits', async (t) => {
  await fc.assert(
    fc.property(records, fc.array(fc.nat(), { minLength: 32, maxLength: 32 }), fc.nat(), (rs, keys, cut) => {
      const shuffled = [...rs]
        .map((r, i) => ({ r, k: keys[i]! }))
        .sort((a, b) => a.k - b.k)
        .map((x) => x.r);
      const inOrder = applyAll(rs);
      const replayed = applyAll([...shuffled, ...rs]);
      const split = cut % (rs.length + 1);
      const merged = mergeTraitMaps(applyAll(shuffled.slice(0, split)), applyAll(shuffled.slice(split)));
      return (
        sameTraitMaps(inOrder, applyAll(shuffled)) &&
        sameTraitMaps(inOrder, replayed) &&
        sameTraitMaps(inOrder, merged)
      );
    }),
    { seed: FUZZ_SEED, numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
  );
  t.pass('LWW is commutative, idempotent, and merges like one history');
});

t.test('applyTraits does not change its input', async (t) => {
  const m = apply(emptyTraitMap(), { email: 'a' }, [1, 'a']);
  apply(m, { email: 'b' }, [2, 'b']);
  t.same(values(m), { email: 'a' });
});
