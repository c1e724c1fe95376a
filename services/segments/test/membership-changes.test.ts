/** The incremental decision, pure: who enters, who leaves, who stays, for each active segment. */
import t from 'tap';
import { parseCriteria, compilePredicate } from '../../shared/src/segments/criteria/index.js';
import type { ActiveSegment } from '../src/active-segments.js';
import { membershipChanges } from '../src/membership-changes.js';

function segment(id: string, criteria: unknown): ActiveSegment {
  const parsed = parseCriteria(criteria);
  if (!parsed.ok) throw new Error(parsed.error);
  return { id, name: id, predicate: compilePredicate(parsed.criteria) };
}

const us = segment('s-us', { country: 'US' });
const recent = segment('s-recent', {
  conditions: [{ field: 'last_seen_at', operator: 'within_last', value: '1 day' }],
});
const at = Date.parse('2026-06-01T12:00:00Z');

t.test(
  'enters when it qualifies and is not a member; leaves when it is and no longer qualifies',
  async (t) => {
    const customers = [
      { id: 'a', row: { country: 'US', last_seen_at: '2026-06-01T11:00:00+00:00' } },
      { id: 'b', row: { country: 'DE', last_seen_at: '2026-05-30T12:00:00+00:00' } },
      { id: 'c', row: { country: 'US', last_seen_at: null } },
    ];
    const active = new Set(['s-us|b', 's-us|c', 's-recent|b']);
    t.same(membershipChanges(customers, active, [us, recent], at), {
      enter: [
        ['s-us', 'a'],
        ['s-recent', 'a'],
      ],
      exit: [
        ['s-us', 'b'],
        ['s-recent', 'b'],
      ],
    });
  },
);

t.test('time decides within_last: the same row leaves a day later', async (t) => {
  const customers = [{ id: 'a', row: { last_seen_at: '2026-06-01T11:00:00+00:00' } }];
  const member = new Set(['s-recent|a']);
  t.same(membershipChanges(customers, member, [recent], at), { enter: [], exit: [] });
  t.same(membershipChanges(customers, member, [recent], at + 86_400_000), {
    enter: [],
    exit: [['s-recent', 'a']],
  });
});

t.test('no segments, no customers: nothing to do', async (t) => {
  t.same(membershipChanges([], new Set(['s-us|a']), [us], at), { enter: [], exit: [] });
  t.same(membershipChanges([{ id: 'a', row: {} }], new Set(), [], at), { enter: [], exit: [] });
});
