/** The dlq tool's plain parts: arguments, --since, selection, envelope reading and what is printed. */
import t, { type Test } from 'tap';
import { UsageError } from '../src/cli.js';
import { parseDlqArgs, parseOffsetList, toDlqTopic, DEFAULT_LIMIT } from '../src/dlq/args.js';
import {
  cut,
  formatPosition,
  parsePosition,
  summarizeRecord,
  toDeadLetter,
  wireHeader,
  type DeadLetter,
} from '../src/dlq/envelope.js';
import {
  ReasonCounts,
  bytesText,
  listCells,
  payloadSummary,
  showLines,
  table,
  terminalSafe,
} from '../src/dlq/format.js';
import { REPLAYED_FROM_HEADER, replayMessage } from '../src/dlq/replay-message.js';
import { REPLAY_FOR_HEADER } from '../../shared/src/pipeline/dead-letter.js';
import { matches, selects } from '../src/dlq/select.js';
import { parseDuration, parseSince } from '../src/dlq/time.js';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const ctx = { now: NOW, inputTopics: ['cdp.events', 'cdp.orders'] };
const parse = (...argv: string[]) => parseDlqArgs(argv, ctx);

function usageError(t: Test, argv: string[], message: RegExp) {
  t.throws(() => parse(...argv), { name: 'UsageError', message }, argv.join(' ') || '(nothing)');
}

const letter = (over: Partial<DeadLetter> = {}): DeadLetter => ({
  originalTopic: 'cdp.events',
  partition: 2,
  offset: 17,
  timestamp: NOW - 60_000,
  key: Buffer.from('user-1'),
  headers: [{ key: 'cdp-source', value: Buffer.from('web') }],
  payload: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
  reason: 'future-timestamp',
  errors: ['timestamp is 3 days ahead of receivedAt'],
  attempts: 1,
  service: 'event-sink',
  failedAt: NOW - 1_000,
  ...over,
});

t.test('durations and --since', async (t) => {
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('2d'), 172_800_000);
  t.equal(parseDuration('1w'), 604_800_000);
  t.equal(parseDuration('250ms'), 250);
  for (const bad of ['', 'h', '1', '1x', '-1h', '1.5h', '0s', '1h 30m'])
    t.equal(parseDuration(bad), undefined, bad);

  t.equal(parseSince('1h', NOW), NOW - 3_600_000);
  t.equal(parseSince('2026-11-20T10:00:00Z', NOW), Date.UTC(2026, 10, 20, 10));
  t.equal(parseSince('2026-11-20T11:00+01:00', NOW), Date.UTC(2026, 10, 20, 10));
  t.equal(parseSince('2026-11-20T10:00:00.250', NOW), Date.UTC(2026, 10, 20, 10, 0, 0, 250), 'no zone: UTC');
  t.equal(parseSince('2026-11-20', NOW), Date.UTC(2026, 10, 20));
  for (const bad of ['yesterday', '2026-02-30', '2026-13-01', '20261120', '2026-11-20T25:00Z', ''])
    t.throws(() => parseSince(bad, NOW), /neither a duration .* nor an ISO 8601 time/, bad);
});

t.test('list arguments', async (t) => {
  t.same(parse('list'), {
    kind: 'list',
    topics: ['cdp.events.dlq', 'cdp.orders.dlq'],
    named: false,
    filter: {},
    limit: DEFAULT_LIMIT,
  });
  t.same(parse('list', '--topic', 'cdp.events', '--reason', 'undecodable', '--since', '1h', '--limit', '5'), {
    kind: 'list',
    topics: ['cdp.events.dlq'],
    named: true,
    filter: { reason: 'undecodable', sinceMs: NOW - 3_600_000 },
    limit: 5,
  });
  t.match(
    parse('list', '--topic=cdp.events.dlq'),
    { topics: ['cdp.events.dlq'] },
    'the dead-letter topic itself',
  );
  usageError(t, ['list', '--limit', '0'], /--limit must be a whole number/);
  usageError(t, ['list', '--limit', 'ten'], /--limit must be a whole number/);
  usageError(t, ['list', '--topic'], /argument missing/);
  usageError(t, ['list', '--topic', 'a', '--topic', 'b'], /--topic is given 2 times/);
  usageError(t, ['list', '--bogus'], /Unknown option '--bogus'/);
  usageError(t, ['list', 'cdp.events'], /list takes no "cdp.events"/);
  usageError(t, ['list', '--since', 'last week'], /neither a duration/);
  usageError(t, ['list', '--topic', 'no spaces'], /is not a topic name/);
  usageError(t, ['list', '--reason', 'a b'], /is not a reason/);
});

t.test('show and replay arguments', async (t) => {
  t.same(parse('show', 'cdp.events', '12'), {
    kind: 'show',
    topic: 'cdp.events.dlq',
    position: { partition: 0, offset: 12 },
  });
  t.same(parse('show', 'cdp.events.dlq', '1:12'), {
    kind: 'show',
    topic: 'cdp.events.dlq',
    position: { partition: 1, offset: 12 },
  });
  usageError(t, ['show', 'cdp.events'], /show takes a topic and an offset/);
  usageError(t, ['show', 'cdp.events', '-1'], /Unknown option|not an offset/);
  usageError(t, ['show', 'cdp.events', 'x'], /"x" is not an offset/);

  t.same(parse('replay', 'cdp.events', '--offsets', '3,5,9'), {
    kind: 'replay',
    topic: 'cdp.events.dlq',
    selection: {
      kind: 'positions',
      positions: [3, 5, 9].map((offset) => ({ partition: 0, offset })),
    },
    dryRun: false,
  });
  t.same(parse('replay', 'cdp.events', '--reason', 'undecodable', '--since', '2d', '--dry-run'), {
    kind: 'replay',
    topic: 'cdp.events.dlq',
    selection: { kind: 'filter', filter: { reason: 'undecodable', sinceMs: NOW - 172_800_000 } },
    dryRun: true,
  });
  t.same(parse('replay', 'cdp.events', '--all'), {
    kind: 'replay',
    topic: 'cdp.events.dlq',
    selection: { kind: 'filter', filter: {} },
    dryRun: false,
  });
  usageError(t, ['replay', 'cdp.events'], /replay needs a selection/);
  usageError(t, ['replay', 'cdp.events', '--dry-run'], /replay needs a selection/);
  usageError(t, ['replay', 'cdp.events', '--since', '1h'], /replay needs a selection/);
  usageError(t, ['replay', 'cdp.events', '--all', '--reason', 'x'], /choose one of/);
  usageError(t, ['replay', 'cdp.events', '--offsets', '1', '--since', '1h'], /--since selects by time/);
  usageError(t, ['replay', '--all'], /replay takes one topic/);
  usageError(t, ['replay', 'cdp.events', '--offsets', '3,x'], /"x" is not an offset or a range/);
  usageError(t, ['replay', 'cdp.events', '--offsets', ''], /is not an offset or a range/);

  usageError(t, [], /no command given/);
  usageError(t, ['purge'], /unknown command "purge"/);
  t.same(parse('--help'), { kind: 'help' });
  t.same(parse('help'), { kind: 'help' });
  try {
    parse('replay', 'cdp.events');
  } catch (err) {
    t.ok(err instanceof UsageError && err.usage.startsWith('usage: npm run dlq'), 'carries the usage text');
  }
});

t.test('offset lists and positions', async (t) => {
  const offsets = (raw: string) => parseOffsetList(raw).map(formatPosition);
  t.same(offsets('9,3,5,3'), ['3', '5', '9'], 'sorted, each once');
  t.same(offsets('10-12,11'), ['10', '11', '12']);
  t.same(offsets('1:4-5,0'), ['0', '1:4', '1:5']);
  t.throws(() => parseOffsetList('5-3'), /runs backwards/);
  t.throws(() => parseOffsetList('0-100000'), /more than 100000 offsets/);
  t.same(parsePosition('12'), { partition: 0, offset: 12 });
  t.same(parsePosition('2:12'), { partition: 2, offset: 12 });
  t.equal(parsePosition('1:'), undefined);
  t.equal(toDlqTopic('cdp.orders'), 'cdp.orders.dlq');
  t.equal(toDlqTopic('cdp.orders.dlq'), 'cdp.orders.dlq');
});

t.test('selection', async (t) => {
  const l = letter();
  t.ok(matches(l, {}));
  t.ok(matches(l, { reason: 'future-timestamp' }));
  t.notOk(matches(l, { reason: 'undecodable' }));
  t.ok(matches(l, { sinceMs: l.failedAt }), 'since is inclusive');
  t.notOk(matches(l, { sinceMs: l.failedAt + 1 }));
  const entry = { position: { partition: 0, offset: 4 }, letter: l };
  const unreadable = { position: { partition: 0, offset: 5 }, unreadable: 'garbage' };
  t.ok(selects({ kind: 'positions', positions: [{ partition: 0, offset: 4 }] }, entry));
  t.notOk(
    selects({ kind: 'positions', positions: [{ partition: 1, offset: 4 }] }, entry),
    'partition matters',
  );
  t.ok(selects({ kind: 'filter', filter: {} }, unreadable), '--all takes an unreadable envelope');
  t.notOk(selects({ kind: 'filter', filter: { reason: 'x' } }, unreadable), 'a reason filter cannot');
});

t.test('envelopes and payloads', async (t) => {
  const decoded = {
    originalTopic: 'cdp.events',
    partition: 1,
    offset: 5,
    timestamp: new Date(NOW),
    key: new Uint8Array([117]),
    headers: [{ key: 'h', value: null }],
    payload: new Uint8Array([0, 0, 0, 0, 1]),
    reason: 'undecodable',
    errors: ['e'],
    attempts: 1,
    service: 'event-sink',
    failedAt: NOW,
  };
  const l = toDeadLetter(decoded);
  t.equal(l.timestamp, NOW, 'a Date becomes epoch ms');
  t.ok(Buffer.isBuffer(l.key) && Buffer.isBuffer(l.payload));
  t.same(l.headers, [{ key: 'h', value: null }]);
  t.throws(() => toDeadLetter({ hello: 1 }), /not a dead-letter envelope/);

  t.same(wireHeader(Buffer.from([0, 0, 0, 1, 2, 9])), { schemaId: 258 });
  t.match(wireHeader(Buffer.from('{"a":1}')), { problem: /first byte is 0x7b, not the magic byte 0/ });
  t.match(wireHeader(Buffer.from([0, 1])), { problem: /2 bytes/ });
  t.match(wireHeader(null), { problem: /tombstone/ });
  t.match(wireHeader(Buffer.alloc(0)), { problem: /empty/ });

  const event = {
    messageId: 'm-1',
    type: 'TRACK',
    event: 'Product Viewed',
    userId: 'alice@example.com',
    anonymousId: 'anon-9',
    propertiesJson: '{"email":"alice@example.com"}',
    context: { ip: '10.1.2.3' },
  };
  t.equal(summarizeRecord(event), 'TRACK "Product Viewed" messageId=m-1');
  t.notMatch(summarizeRecord(event), /alice|anon-9|10\.1/, 'nothing about the person');
  t.equal(
    summarizeRecord({ messageId: 'm-2', order_id: 'o-1', order_status: 'delivered', userId: 'u' }),
    'order_id=o-1 order_status=delivered messageId=m-2',
  );
  t.equal(
    summarizeRecord({ messageId: 'm-3', campaign_id: 'c-1', event: 'opened' }),
    'opened campaign_id=c-1 messageId=m-3',
  );
  t.equal(cut('a\n  b   c', 10), 'a b c');
  t.equal(cut('abcdefghij', 5), 'abcd…');
});

t.test('list lines and counts', async (t) => {
  const l = letter();
  const cells = listCells({ position: { partition: 0, offset: 3 }, letter: l }, 'TRACK messageId=m-1');
  t.same(cells, [
    '3',
    new Date(NOW - 1_000).toISOString(),
    'cdp.events/2@17',
    'future-timestamp',
    'event-sink',
    '"timestamp is 3 days ahead of receivedAt"',
    'TRACK messageId=m-1',
  ]);
  t.equal(listCells({ position: { partition: 1, offset: 3 }, unreadable: 'bad' }, '-')[0], '1:3');
  t.equal(
    listCells(
      { position: { partition: 0, offset: 3 }, letter: letter({ errors: ['x'.repeat(200)] }) },
      '',
    )[5]!.length,
    62,
    'the first error is cut to 60 characters (quoted)',
  );
  t.equal(
    payloadSummary(letter({ payload: Buffer.from('hello') }), { problem: 'not Avro' }),
    '5 bytes, not Avro',
  );

  t.same(
    table([
      ['A', 'BBB', 'C'],
      ['aaaa', 'b', 'the rest'],
    ]),
    ['A     BBB  C', 'aaaa  b    the rest'],
  );

  const counts = new ReasonCounts();
  counts.add('undecodable', 'a.dlq');
  counts.add('undecodable', 'b.dlq');
  counts.add('future-timestamp', 'a.dlq');
  t.equal(counts.total, 3);
  t.same(counts.lines(['a.dlq']), ['  undecodable       2', '  future-timestamp  1']);
  t.same(counts.lines(['a.dlq', 'b.dlq']), [
    '  undecodable       2  (a.dlq 1, b.dlq 1)',
    '  future-timestamp  1  (a.dlq 1)',
  ]);
});

t.test('show lines', async (t) => {
  t.equal(bytesText(Buffer.from('user-1')), '"user-1"');
  t.equal(bytesText(Buffer.from([0xff, 0x00])), 'hex ff00');
  t.equal(bytesText(Buffer.from('a\u0000b')), 'hex 610062', 'a control character is not text');
  t.equal(bytesText(null), 'null');

  const decoded = showLines('cdp.events.dlq', { partition: 0, offset: 3 }, letter(), {
    schemaId: 7,
    value: { messageId: 'm-1', blob: Buffer.from([1, 2]) },
  }).join('\n');
  t.match(decoded, /^dead letter cdp.events.dlq offset 3 \(partition 0\)/);
  t.match(decoded, /original +cdp\.events\/2@17/);
  t.match(decoded, /key +"user-1"/);
  t.match(decoded, /headers +cdp-source: "web"/);
  t.match(
    decoded,
    /payload +8 bytes, Confluent wire format, schema id 7, decoded:\n\{\n {2}"messageId": "m-1",\n {2}"blob": "hex 0102"/,
  );

  const raw = Buffer.from('{"userId":"u"}');
  const undecoded = showLines(
    'cdp.events.dlq',
    { partition: 0, offset: 4 },
    letter({ payload: raw, headers: [] }),
    {
      problem: 'not the Confluent wire format',
    },
  ).join('\n');
  t.match(undecoded, /headers +\(none\)/);
  t.match(undecoded, /payload +14 bytes, not decoded: not the Confluent wire format/);
  t.match(undecoded, new RegExp(`payload hex +${raw.toString('hex')}`));
  t.match(undecoded, new RegExp(`payload base64 +${raw.toString('base64').replace(/[+/]/g, '\\$&')}`));
});

t.test('the replayed record', async (t) => {
  const l = letter({
    headers: [
      { key: 'a', value: Buffer.from('1') },
      { key: 'a', value: Buffer.from('2') },
      { key: 'empty', value: null },
      { key: REPLAYED_FROM_HEADER, value: Buffer.from('old.dlq:1') },
    ],
  });
  const m = replayMessage(l, 'cdp.events.dlq:3', 6);
  t.equal(m.key, l.key);
  t.equal(m.value, l.payload, 'the original bytes');
  t.equal(m.partition, 2, 'the original partition');
  t.same(m.headers, {
    a: [Buffer.from('1'), Buffer.from('2')],
    empty: undefined,
    [REPLAYED_FROM_HEADER]: Buffer.from('cdp.events.dlq:3'),
    [REPLAY_FOR_HEADER]: Buffer.from(l.service),
  });
  t.ok('empty' in m.headers!, 'a header without a value stays');
  t.equal(
    replayMessage(l, 'x', 2).partition,
    undefined,
    'a partition the topic no longer has: the key decides',
  );
});

t.test('terminalSafe: what a client wrote cannot drive the operator terminal', async (t) => {
  t.equal(terminalSafe('ok \u001b[2J name'), 'ok \\u{1b}[2J name');
  t.equal(terminalSafe('a\u202eb\u2066c\u0085d'), 'a\\u{202e}b\\u{2066}c\\u{85}d');
  t.equal(terminalSafe('plain, tab\tand é 🎉'), 'plain, tab\tand é 🎉');
  t.equal(cut('🎉'.repeat(10), 5), '🎉🎉🎉🎉…', 'a cut never splits a character');
});
