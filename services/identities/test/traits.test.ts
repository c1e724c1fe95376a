import t from 'tap';
import { customerTraitUpdates, isTimeZone } from '../src/traits/customer-traits.js';
import { parseBirthday } from '../src/traits/birthday.js';

const at = Date.UTC(2026, 5, 15, 12); // 2026-06-15
const map = (traits: Record<string, unknown>, contextTimezone: string | null = null) =>
  customerTraitUpdates(traits, { eventTime: at, contextTimezone });
const entries = (traits: Record<string, unknown>, tz: string | null = null) =>
  Object.fromEntries(map(traits, tz).updates);

t.test('Segment traits fill the columns; the rest goes to custom_attributes', async (t) => {
  const m = map({
    email: ' ada@example.com ',
    phone: 5551234,
    name: 'Ada Lovelace',
    gender: 'female',
    birthday: '1990-06-16T00:00:00.000Z',
    address: { street: '12 Main St', city: 'London', state: 'LDN', postalCode: 'NW1', country: 'GB' },
    timezone: 'Europe/London',
    plan: 'pro',
    firstName: 'Ada',
  });
  t.same(Object.fromEntries(m.updates), {
    email: 'ada@example.com',
    phone: '5551234',
    name: 'Ada Lovelace',
    gender: 'female',
    date_of_birth: '1990-06-16',
    city: 'London',
    state: 'LDN',
    postal_code: 'NW1',
    country: 'GB',
    'custom_attributes.address': { street: '12 Main St' },
    timezone: 'Europe/London',
    'custom_attributes.plan': 'pro',
    'custom_attributes.firstName': 'Ada',
  });
  t.same(m.truncated, []);
  t.same(m.ignored, []);
});

t.test('name from firstName and lastName when no name is given', async (t) => {
  t.equal(entries({ firstName: 'Ada', lastName: 'Lovelace' }).name, 'Ada Lovelace');
  t.equal(entries({ first_name: 'Ada' }).name, 'Ada');
  t.equal(entries({ name: 'A. L.', firstName: 'Ada' }).name, 'A. L.', 'name wins');
  t.notOk('name' in entries({ plan: 'x' }), 'no name trait: name untouched');
});

t.test('null or blank clears a column; absent leaves it alone', async (t) => {
  const e = entries({ email: null, phone: '  ', birthday: null, address: null, plan: null });
  t.same(e, {
    email: null,
    phone: null,
    date_of_birth: null,
    country: null,
    state: null,
    city: null,
    postal_code: null,
    'custom_attributes.address': null,
    'custom_attributes.plan': null,
  });
});

t.test('values longer than the column are cut by characters and named', async (t) => {
  const phone = '😀'.repeat(25);
  const m = map({ phone, email: 'x'.repeat(300) });
  t.equal(m.updates.get('phone'), '😀'.repeat(20), 'twenty characters, no half emoji');
  t.equal((m.updates.get('email') as string).length, 255);
  t.same(m.truncated.sort(), ['email', 'phone']);
});

t.test('what cannot be the column is ignored and named, the rest of the record stands', async (t) => {
  const m = map({ birthday: '1990-02-30', email: { a: 1 }, timezone: 'Mars/Olympus', name: 'Ada' });
  t.same(Object.fromEntries(m.updates), { name: 'Ada' });
  t.same(m.ignored.sort(), ['date_of_birth', 'email', 'timezone']);
  t.same(map({ birthday: 'yesterday' }).ignored, ['date_of_birth']);
  t.same(map({ birthday: 631152000000 }).ignored, ['date_of_birth'], 'a number is no calendar date');
  t.same(map({ birthday: '2030-01-01' }).ignored, ['date_of_birth'], 'born after the event');
});

t.test("age is a custom attribute; age_group is the metrics' (from date_of_birth)", async (t) => {
  t.same(entries({ age: 30 }), { 'custom_attributes.age': 30 });
  t.notOk('age_group' in entries({ birthday: '2000-01-01' }));
});

t.test('timezone: the trait, else context.timezone; both checked against the zone database', async (t) => {
  t.equal(entries({}, 'America/New_York').timezone, 'America/New_York');
  t.equal(entries({ timezone: 'Asia/Tokyo' }, 'America/New_York').timezone, 'Asia/Tokyo');
  t.same(map({}, 'Nowhere/Special').ignored, ['timezone']);
  t.ok(isTimeZone('UTC'));
  t.notOk(isTimeZone('Not/AZone'));
});

t.test('an address given as one line of text is kept as given', async (t) => {
  t.same(entries({ address: '12 Main St, London' }), { 'custom_attributes.address': '12 Main St, London' });
});

t.test('a __proto__ trait is a custom attribute like any other', async (t) => {
  const traits = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  const e = map(traits).updates;
  t.same(e.get('custom_attributes.__proto__'), { polluted: true });
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});

t.test('birthdays', async (t) => {
  t.same(parseBirthday('1990-05-17', at), { year: 1990, month: 5, day: 17 });
  t.same(
    parseBirthday('1990-05-17T23:30:00-05:00', at),
    { year: 1990, month: 5, day: 17 },
    'the date as written',
  );
  t.equal(parseBirthday('1899-12-31', at), null);
  t.equal(parseBirthday('2023-02-29', at), null, 'not a leap year');
  t.same(parseBirthday('2024-02-29', at), { year: 2024, month: 2, day: 29 });
});
