import t from 'tap';
import { mapIdentityRecord } from '../src/mapping/identity-input.js';
import { identityRecord } from './fixtures.js';

const limits = { maxFutureMs: 24 * 3600_000, earliestMs: Date.UTC(2000, 0, 1) };
const map = (...args: Parameters<typeof identityRecord>) =>
  mapIdentityRecord(identityRecord(...args), limits);

t.test('an identify, corrected for clock skew, traits made storable', async (t) => {
  const received = Date.UTC(2026, 10, 20, 10, 0, 5);
  const r = map(
    {
      timestamp: Date.UTC(2026, 10, 20, 11, 0, 0),
      sentAt: Date.UTC(2026, 10, 20, 11, 0, 5),
      receivedAt: received,
      sourceId: 'src-1',
      anonymousId: '',
      traits: { 'na\u0000me': 'A\ud800' },
    },
    { timezone: 'Europe/Paris' },
  );
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.value.occurredAt, Date.UTC(2026, 10, 20, 10, 0, 0), 'the client clock ran an hour fast');
  t.equal(r.value.sourceKey, 'src-1');
  t.equal(r.value.anonymousId, null, 'an empty id is no id');
  t.same(r.value.traits, { 'na\uFFFDme': 'A\uFFFD' });
  t.equal(r.value.contextTimezone, 'Europe/Paris');
  t.equal(r.value.kind, 'identify');
});

t.test('records produced straight to Kafka have the source key "kafka"', async (t) => {
  const r = map({});
  t.ok(r.ok && r.value.sourceKey === 'kafka');
});

t.test('alias takes previousId, else the anonymousId', async (t) => {
  const a = map({ type: 'ALIAS', userId: 'u', previousId: 'p' });
  t.ok(a.ok && a.value.previousId === 'p');
  const b = map({ type: 'ALIAS', userId: 'u', anonymousId: 'anon' });
  t.ok(b.ok && b.value.previousId === 'anon');
});

t.test('dead letters: what can never be applied', async (t) => {
  const cases: [string, Parameters<typeof identityRecord>[0], string][] = [
    ['no ids', { userId: null }, 'schema-invalid'],
    ['alias without previousId', { type: 'ALIAS', userId: 'u' }, 'schema-invalid'],
    ['group without groupId', { type: 'GROUP' }, 'schema-invalid'],
    ['an id too long to be one', { userId: 'x'.repeat(101) }, 'impossible-value'],
    ['a group id too long', { type: 'GROUP', groupId: 'g'.repeat(101) }, 'impossible-value'],
    ['no messageId', { messageId: '' }, 'schema-invalid'],
    ['a future event', { timestamp: Date.now() + 3 * 86_400_000 }, 'future-timestamp'],
    ['before 2000', { timestamp: Date.UTC(1999, 0, 1) }, 'impossible-value'],
  ];
  for (const [what, overrides, reason] of cases) {
    const r = map(overrides);
    t.match(r, { ok: false, reason }, what);
  }
  t.match(mapIdentityRecord({ ...identityRecord(), traitsJson: '[1]' }, limits), {
    ok: false,
    reason: 'schema-invalid',
  });
  t.match(mapIdentityRecord({ ...identityRecord(), traitsJson: '{' }, limits), {
    ok: false,
    reason: 'schema-invalid',
  });
  const deep = '{"a":'.repeat(70) + '1' + '}'.repeat(70);
  t.match(mapIdentityRecord({ ...identityRecord(), traitsJson: deep }, limits), {
    ok: false,
    reason: 'too-deep',
  });
});

t.test('ids count characters, not UTF-16 units', async (t) => {
  t.ok(map({ userId: '😀'.repeat(100) }).ok, '100 emoji are 100 characters');
});
