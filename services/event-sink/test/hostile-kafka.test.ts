/**
 * Hostile records produced straight to Kafka, as a backend may, consumed by the event sink running
 * as a process of its own: bytes that are not Avro, an unregistered schema id, a tombstone, valid
 * Avro carrying the strings that halted the sink (NUL, lone surrogates), and a seeded fast-check
 * set of hostile records. The sink must never exit; each record lands (normalised: U+0000 and lone
 * surrogates become U+FFFD) or is on `<topic>.dlq` with its original bytes and a reason, never
 * both, never neither; a canary produced after all of it lands.
 *
 * Two private topics, each with its own sink: the contract's halting inputs, then the fuzz (whose
 * findings would otherwise hide the first part's result behind a halted sink).
 * Reproduce with the seed it prints: FUZZ_SEED=<seed> npx tap services/event-sink/test/hostile-kafka.test.ts
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import avro from 'avsc';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createProducer, type IHeaders } from '../../shared/src/kafka/client.js';
import { dlqTopic, Topics, valueSubject } from '../../shared/src/topics.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import {
  FUZZ_SEED,
  RAW_JSON_TEXTS,
  asColumn,
  atLimit,
  canonicalJson,
  hostileDouble,
  hostileInt32,
  hostileNonEmpty,
  hostileObject,
  hostileString,
  jsonText,
  nestedText,
  normalised,
  show,
} from '../../shared/test/hostile.js';
import type { EventRecord } from '../src/mapping/event-record.js';
import { eventRecord } from './fixtures.js';
import { codec, encode, eventSchema, kafka, privateTopic } from './support.js';
import { startSink } from '../../shared/test/processor-process.js';
import { storedEvents, watchDeadLetters, type DeadLetter } from './outcomes.js';
import { byGroup, judge, type ExpectedEvent } from './expected-event.js';

const FUZZ_RECORDS = Number(process.env.FUZZ_RECORDS ?? 150);
const seedNote = `FUZZ_SEED=${FUZZ_SEED}`;
t.comment(
  `fuzz seed ${FUZZ_SEED}, ${FUZZ_RECORDS} generated records: ${seedNote} npx tap ${import.meta.url.split('/').pop()}`,
);

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'hostile-kafka',
  registry: createRegistry('hk'),
});
const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
t.before(() => producer.connect());
t.teardown(async () => {
  await producer.disconnect();
  await db.end();
});

const RUN_TAG = randomBytes(4).toString('hex');
let counter = 0;
/** A message id no other record, test or run has. */
const tag = () => `k${RUN_TAG}${(counter++).toString(36).padStart(6, '0')}`;
const TAG_LENGTH = tag().length;

interface Case {
  label: string;
  value: Buffer | null;
  key?: string | Buffer | null;
  headers?: IHeaders;
  /** land: must be stored; dlq: must be dead-lettered; either: one of the two. */
  expect: 'land' | 'dlq' | 'either';
  /** For decodable events: how it must look once stored. */
  event?: ExpectedEvent;
  /** Which promise it tests (judged and reported separately). */
  group?: string;
}

/**
 * The Avro type of schemas/event.avsc, to see a record as the sink will: a string holding a lone
 * surrogate has no UTF-8 form, and avsc writes it as three bytes that decode as three U+FFFD.
 */
const eventType = avro.Type.forSchema((await readSchemaFile('event.avsc')) as avro.Schema);

/**
 * An event case: the record encoded with the registered schema (then `patch`ed, for bytes no
 * encoder writes), and what the record those bytes decode to should become.
 */
async function eventCase(
  label: string,
  e: EventRecord,
  expect: Case['expect'],
  patch: (bytes: Buffer) => Buffer = (b) => b,
): Promise<Case> {
  const value = patch(await encode(e));
  const carried = eventType.fromBuffer(value.subarray(5)) as EventRecord;
  return {
    label,
    value,
    key: e.userId ?? e.anonymousId ?? 'k',
    expect,
    event: expectedOf(carried, label, expect),
  };
}

/** What the contract says a decodable event becomes: its strings normalised, context cut to the column widths. */
function expectedOf(e: EventRecord, label: string, expect: Case['expect']): ExpectedEvent {
  // userId, else anonymousId; null and "" both mean absent.
  const id = e.userId || e.anonymousId;
  const name = e.event ?? e.name;
  let properties: string | undefined;
  try {
    const parsed: unknown = JSON.parse(e.propertiesJson);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      properties = canonicalJson(parsed);
  } catch {
    properties = undefined;
  }
  const ctx = e.context;
  return {
    label,
    mustLand: expect === 'land',
    messageId: normalised(e.messageId),
    externalId: id ? normalised(id) : undefined,
    eventName: name !== null && normalised(name) !== '' ? asColumn(name, 200)! : undefined,
    properties,
    sessionId: ctx.sessionId === null ? undefined : asColumn(ctx.sessionId, 255),
    pageTitle: ctx.page?.title == null ? undefined : asColumn(ctx.page.title, 500),
    userAgent: ctx.userAgent === null ? undefined : asColumn(ctx.userAgent, 10_000),
  };
}

/**
 * Produces `cases` in order to a fresh one-partition topic consumed by a sink process, waits until
 * each has an outcome (or the sink exits), and judges them. The last case should be the canary.
 */
async function run(t: Test, cases: Case[]): Promise<void> {
  const topic = await privateTopic(1);
  const dlq = await watchDeadLetters(kafka, codec, dlqTopic(topic));
  t.teardown(() => dlq.stop());
  const sink = startSink({
    EVENT_SINK_TOPIC: topic,
    EVENT_SINK_GROUP: randomName('hostile-sink'),
    EVENT_SINK_MAX_BATCH: '50',
  });
  t.teardown(() => sink.stop());

  // In order, a few at a time (a produce request has a size limit): offsets follow the cases.
  const offsetOf = new Map<Case, number>();
  for (let i = 0; i < cases.length; i += 25) {
    const chunk = cases.slice(i, i + 25);
    const [meta] = await producer.send({
      topic,
      acks: -1,
      messages: chunk.map((c) => ({
        key: c.key === undefined ? 'k' : c.key,
        value: c.value,
        headers: c.headers,
      })),
    });
    chunk.forEach((c, k) => offsetOf.set(c, Number(meta!.baseOffset) + k));
  }
  const lettersAt = (offset: number): DeadLetter[] =>
    dlq.letters.filter((l) => l.originalTopic === topic && Number(l.offset) === offset);
  const events = cases.filter((c) => c.event);
  const ids = events.map((c) => c.event!.messageId);

  let rows = await storedEvents(db, ids);
  await waitFor(
    `an outcome for each of ${cases.length} records`,
    async () => {
      if (sink.exited()) return true;
      rows = await storedEvents(db, ids);
      return cases.every(
        (c) => (c.event && rows.has(c.event.messageId)) || lettersAt(offsetOf.get(c)!).length > 0,
      );
    },
    45_000,
    250,
  ).catch((err: Error) => t.comment(err.message));
  rows = await storedEvents(db, ids);

  const exit = sink.exited();
  t.notOk(
    exit,
    `the sink process never exited${exit ? ` (it did: ${JSON.stringify(exit)}):\n${sink.lastLines()}` : ''}`,
  );
  const canary = cases[cases.length - 1]!;
  t.ok(canary.event && rows.has(canary.event.messageId), 'the canary produced after everything landed');

  t.same(dlq.broken, [], 'every record on the dead-letter topic is a decodable envelope');
  let failed = false;
  for (const [group, members] of byGroup(cases, 'the contract')) {
    const withEvent = members.filter((c) => c.event);
    const caseOf = new Map(withEvent.map((c) => [c.event!, c]));
    const verdict = judge(
      withEvent.map((c) => c.event!),
      rows,
      (e) => lettersAt(offsetOf.get(caseOf.get(e)!)!),
    );
    let deadLettered = 0;
    for (const c of members) {
      const letters = lettersAt(offsetOf.get(c)!);
      const stored = c.event ? (rows.get(c.event.messageId)?.length ?? 0) : 0;
      if (c.expect === 'dlq' && letters.length === 0)
        verdict.failures.push(`not dead-lettered${stored ? ' (stored instead)' : ''}: ${c.label}`);
      if (!c.event && letters.length === 0 && c.expect !== 'dlq')
        verdict.failures.push(`no outcome: ${c.label}`);
      for (const l of letters) {
        const same = (l.payload ?? Buffer.alloc(0)).equals(c.value ?? Buffer.alloc(0));
        if (!same) verdict.failures.push(`dead letter without the original bytes: ${c.label}`);
        if (!l.reason) verdict.failures.push(`dead letter without a reason: ${c.label}`);
      }
      if (letters.length > 0) deadLettered++;
      if (letters.length > 0 && !c.event)
        verdict.reasons.set(letters[0]!.reason, (verdict.reasons.get(letters[0]!.reason) ?? 0) + 1);
    }
    t.equal(
      verdict.failures.length,
      0,
      `${group}: each of ${members.length} records stored once as normalised (${verdict.landed}) ` +
        `or dead-lettered with its bytes and a reason (${deadLettered}: ` +
        `${[...verdict.reasons].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}) (${seedNote})`,
    );
    for (const f of verdict.failures.slice(0, 20)) t.comment(f);
    if (verdict.failures.length > 20) t.comment(`... and ${verdict.failures.length - 20} more`);
    failed ||= verdict.failures.length > 0;
  }
  for (const l of dlq.letters.filter((l) => /refused|mapping/.test(l.reason)).slice(0, 10))
    t.comment(`${l.reason} at offset ${l.offset}: ${show(l.errors.join('; '), 300)}`);
  if (failed || exit) t.comment(`the sink's last lines:\n${sink.lastLines()}`);
}

const ordinary = (label: string): Promise<Case> =>
  eventCase(label, eventRecord({ messageId: tag(), userId: randomName('user') }), 'land');

t.test(
  'the contract: halting strings land normalised, undecodable records are dead-lettered, a canary lands',
  async (t) => {
    const schemaId = await eventSchema();
    const valid = await encode(eventRecord({ messageId: tag() }));
    const framed = (id: number, body: Buffer) => {
      const header = Buffer.alloc(5);
      header.writeInt32BE(id, 1);
      return Buffer.concat([header, body]);
    };
    const cases: Case[] = [
      await ordinary('an ordinary event before'),
      { label: 'bytes that are not Avro', value: Buffer.from('definitely not avro'), expect: 'dlq' },
      {
        label: 'the magic byte with an unregistered schema id (999999999)',
        value: framed(999_999_999, valid.subarray(5)),
        expect: 'dlq',
      },
      { label: 'a tombstone (no value)', value: null, expect: 'dlq' },
      { label: 'an empty value', value: Buffer.alloc(0), expect: 'dlq' },
      { label: 'valid Avro cut short', value: valid.subarray(0, 12), expect: 'dlq' },
      {
        label: 'a wrong magic byte',
        value: Buffer.concat([Buffer.from([1]), valid.subarray(1)]),
        expect: 'dlq',
      },
      {
        label: 'seeded random bytes after a valid header',
        value: framed(
          schemaId,
          Buffer.from(
            fc.sample(fc.uint8Array({ minLength: 40, maxLength: 40 }), { seed: FUZZ_SEED, numRuns: 1 })[0]!,
          ),
        ),
        expect: 'dlq',
      },
      await eventCase('NUL in userId', eventRecord({ messageId: tag(), userId: 'a\u0000b' }), 'land'),
      await eventCase(
        'lone surrogates in a property key and value',
        eventRecord({
          messageId: tag(),
          userId: 'u-lone',
          propertiesJson: JSON.stringify({ 'k\ud800': '\udfff' }),
        }),
        'land',
      ),
      await eventCase(
        'NUL in a property value',
        eventRecord({ messageId: tag(), userId: 'u-nul', propertiesJson: JSON.stringify({ a: 'b\u0000c' }) }),
        'land',
      ),
      await eventCase(
        'NUL in the messageId, the event name and context strings',
        eventRecord(
          { messageId: `${tag()}\u0000`, userId: 'u-ctx', event: 'Viewed\u0000' },
          {
            ip: '203.0.113.9\u0000',
            userAgent: 'Mozilla/5.0\u0000',
            sessionId: 's\u0000',
            locale: 'de\u0000',
            page: {
              path: '/\u0000',
              referrer: null,
              search: null,
              title: 'T\u0000itle',
              url: 'https://x.example/?utm_source=a\u0000',
            },
            campaign: { name: 'c\u0000', source: null, medium: null, term: null, content: null },
            location: { country: 'D\u0000E', region: null, city: 'B\u0000', latitude: null, longitude: null },
            device: { id: null, type: 'ios\u0000', manufacturer: null, model: null, name: null },
            os: { name: 'i\u0000OS', version: null },
            extraJson: JSON.stringify({ app: 'x\u0000' }),
          },
        ),
        'land',
      ),
      await ordinary('an ordinary event after'),
      { ...(await ordinary('the canary')), group: 'the canary' },
    ];
    await run(t, cases);
  },
);

// ---------------------------------------------------------------------------------------------
// The fuzz: records a backend could produce with the registered schema, hostile in every field.

const now = Date.now();
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 3 });
const s = nullable(hostileString);

const contextArb: fc.Arbitrary<EventRecord['context']> = fc.record({
  ip: nullable(
    fc.oneof(hostileString, fc.constantFrom('203.0.113.9', 'fe80::1%eth0', '::ffff:1.2.3.4', '999.1.1.1')),
  ),
  userAgent: nullable(
    fc.oneof(hostileString, fc.constant('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)')),
  ),
  locale: s,
  timezone: s,
  sessionId: nullable(fc.oneof(hostileString, atLimit(255))),
  page: nullable(
    fc.record({
      path: s,
      referrer: s,
      search: s,
      title: nullable(fc.oneof(hostileString, atLimit(500))),
      url: nullable(
        fc.oneof(
          hostileString,
          hostileString.map((x) => `https://shop.example/?utm_source=${x}&utm_campaign=${x}`),
        ),
      ),
    }),
  ),
  campaign: nullable(fc.record({ name: s, source: s, medium: s, term: s, content: s })),
  device: nullable(
    fc.record({
      id: s,
      type: nullable(fc.oneof(hostileString, fc.constantFrom('ios', 'android'))),
      manufacturer: s,
      model: s,
      name: s,
    }),
  ),
  os: nullable(fc.record({ name: s, version: s })),
  screen: nullable(
    fc.record({
      width: nullable(hostileInt32),
      height: nullable(hostileInt32),
      density: nullable(hostileDouble),
    }),
  ),
  location: nullable(
    fc.record({
      country: s,
      region: s,
      city: s,
      latitude: nullable(hostileDouble),
      longitude: nullable(hostileDouble),
    }),
  ),
  library: nullable(fc.record({ name: s, version: s })),
  extraJson: nullable(fc.oneof(hostileObject.map(jsonText), fc.constantFrom(...RAW_JSON_TEXTS))),
});

/** A record without its messageId tag (added when produced, so every one is findable). */
const recordArb: fc.Arbitrary<EventRecord> = fc.record({
  messageId: fc.oneof(
    { weight: 6, arbitrary: hostileString },
    { weight: 1, arbitrary: atLimit(255 - TAG_LENGTH) },
  ),
  sourceId: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: hostileString },
  ),
  type: fc.constantFrom<EventRecord['type']>('TRACK', 'PAGE', 'SCREEN'),
  event: nullable(
    fc.oneof({ weight: 4, arbitrary: hostileNonEmpty }, { weight: 1, arbitrary: atLimit(200) }),
  ),
  name: nullable(fc.oneof({ weight: 4, arbitrary: hostileString }, { weight: 1, arbitrary: atLimit(200) })),
  category: s,
  userId: nullable(
    fc.oneof({ weight: 4, arbitrary: hostileNonEmpty }, { weight: 1, arbitrary: atLimit(100) }),
  ),
  anonymousId: nullable(hostileNonEmpty),
  timestamp: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: -3 * 86_400_000, max: 0 }).map((d) => now + d) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(0, -1, Date.UTC(2000, 0, 1), 8.64e15, -8.64e15, now + 40 * 86_400_000),
    },
  ),
  sentAt: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.integer({ min: -5_000, max: 0 }).map((d) => now + d) },
    { weight: 1, arbitrary: fc.constantFrom(0, now + 3_600_000) },
  ),
  receivedAt: fc.constant(now),
  propertiesJson: fc.oneof(
    { weight: 6, arbitrary: hostileObject.map(jsonText) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_JSON_TEXTS) },
  ),
  context: contextArb,
});

/** Replaces the UTF-8 bytes of `marker` (in one of the record's strings) with invalid UTF-8 of the same length. */
const invalidUtf8 = (marker: string, bad: number[]) => (bytes: Buffer) => {
  const at = bytes.indexOf(Buffer.from(marker, 'utf8'));
  if (at < 0 || Buffer.byteLength(marker) !== bad.length) throw new Error('marker not found');
  const out = Buffer.from(bytes);
  Buffer.from(bad).copy(out, at);
  return out;
};

t.test(
  `fuzz: ${FUZZ_RECORDS} generated hostile records and the odd ones, then a canary (seed ${FUZZ_SEED})`,
  async (t) => {
    const generated = fc.sample(recordArb, { seed: FUZZ_SEED, numRuns: FUZZ_RECORDS });
    const cases: Case[] = [];
    for (const [i, g] of generated.entries()) {
      const e = { ...g, messageId: tag() + g.messageId };
      cases.push({
        ...(await eventCase(`generated record #${i} ${show(e, 600)}`, e, 'either')),
        group: 'generated',
      });
    }

    // Odd ones a generator would rarely hit.
    const base = () => eventRecord({ messageId: tag(), userId: randomName('odd') });
    let group = 'odd ones';
    const named = async (label: string, e: EventRecord, expect: Case['expect'] = 'either') =>
      cases.push({ ...(await eventCase(label, e, expect)), group });
    await named('propertiesJson nested 100 levels (past the HTTP limit, within jsonb)', {
      ...base(),
      propertiesJson: `{"d":${nestedText(100, 'mixed')}}`,
    });
    await named("propertiesJson nested 20000 levels (past jsonb's stack)", {
      ...base(),
      propertiesJson: `{"d":${nestedText(20_000, 'array', '0')}}`,
    });
    await named(
      'extraJson nested 20000 levels',
      eventRecord(
        { messageId: tag(), userId: 'u-deep' },
        { extraJson: `{"d":${nestedText(20_000, 'array', '0')}}` },
      ),
    );
    await named('a number jsonb cannot hold (1e999999)', { ...base(), propertiesJson: '{"n":1e999999}' });
    await named(
      'escape sequences as text (a backslash, then u0000) are data, not NUL',
      { ...base(), propertiesJson: '{"text":"\\\\u0000","b":"\\\\ud800"}' },
      'land',
    );
    await named('timestamp past the end of the JavaScript Date range', { ...base(), timestamp: 8.64e15 + 1 });
    await named('sentAt far in the past: occurred_at past the Date range', { ...base(), sentAt: -8.64e15 });
    await named(
      'a 4-byte-character customer id of exactly 100 characters',
      { ...base(), userId: '\u{1f600}'.repeat(100) },
      'land',
    );
    await named(
      'an event name of exactly 200 characters, one BMP then 4-byte ones',
      { ...base(), event: `a${'\u{1d54f}'.repeat(199)}` },
      'land',
    );
    // Refused at the collector or stored with a default name: as the HTTP path does, either way.
    await named('an empty page name', { ...base(), type: 'PAGE', event: null, name: '' });
    group = 'event names that are JavaScript object keys';
    for (const event of ['constructor', '__proto__', 'toString'])
      await named(`an event named ${event}`, { ...base(), event }, 'land');
    group = 'odd ones';
    cases.push({
      ...(await eventCase(
        'invalid UTF-8 inside an Avro string (userId)',
        { ...base(), userId: 'u-utf8-XXXX' },
        'either',
        invalidUtf8('XXXX', [0xed, 0xa0, 0x80, 0xff]),
      )),
      group,
    });
    const hostileHeaders = await eventCase('hostile headers and a binary key', base(), 'land');
    cases.push({
      ...hostileHeaders,
      group,
      key: Buffer.from([0xff, 0x00, 0xfe]),
      headers: { 'x-\u0000': 'v\ud800', 'x-bin': Buffer.from([0xff]) },
    });
    // Valid Avro of another registered schema: an identify produced to the events topic by mistake.
    const identitySchema = await readSchemaFile('identity.avsc');
    const identityId = await codec.register(valueSubject(Topics.identities), identitySchema);
    const { propertiesJson: _p, event: _e, name: _n, category: _c, ...common } = base();
    const identity = {
      ...common,
      type: 'IDENTIFY',
      previousId: null,
      groupId: null,
      traitsJson: '{"plan":"pro"}',
    };
    const identityMessageId = tag();
    cases.push({
      label: 'an identify record (another schema) on the events topic',
      value: await codec.encode(identityId, { ...identity, messageId: identityMessageId }),
      expect: 'either',
      // Found by its messageId if it lands: nothing else about it can be expected of an event.
      event: { label: 'an identify record', messageId: identityMessageId },
      group,
    });
    cases.push({ ...(await ordinary('the canary')), group: 'the canary' });
    await run(t, cases);
  },
);
