/**
 * `dlq` against the real Kafka, registry and PostgreSQL: a private input topic and its dead-letter
 * topic holding envelopes built by DeadLetters around real Avro events and around garbage; list,
 * show and replay in-process and as the real command; and a replay applied by the real event sink
 * exactly once, however often it is replayed.
 */
import t from 'tap';
import type { KafkaMessage } from '../../shared/src/kafka/client.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { DeadLetters } from '../../shared/src/pipeline/dead-letter.js';
import { readOffset } from '../../shared/src/pg/offsets.js';
import { readToEnd } from '../../shared/src/kafka/read-to-end.js';
import { runTool } from './run-tool.js';
import { dlqTopic } from '../../shared/src/topics.js';
import { beginning, endOffsets, readRange } from '../../shared/test/kafka-support.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import {
  codec,
  encode,
  eventSchema,
  kafka,
  privateTopic,
  produce,
  testEvents,
} from '../../event-sink/test/support.js';
import { parseDlqArgs } from '../src/dlq/args.js';
import { runDlq } from '../src/dlq/commands.js';
import { REPLAYED_FROM_HEADER } from '../src/dlq/replay-message.js';
import { startSink } from '../../shared/test/processor-process.js';

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'dlq-test',
  registry: createRegistry('dlq-test'),
});
t.teardown(() => db.end());

/** The original record a processor had read, as kafkajs handed it over. */
const original = (
  offset: number,
  value: Buffer,
  key: string,
  headers: Record<string, string> = {},
): KafkaMessage => ({
  key: Buffer.from(key),
  value,
  timestamp: String(Date.now() - 60_000),
  attributes: 0,
  offset: String(offset),
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
});

/** Puts dead letters on `topic`'s dead-letter topic, in order (offsets 0, 1, ...). */
async function deadLetter(
  topic: string,
  letters: { message: KafkaMessage; reason: string; errors: string[]; partition?: number }[],
): Promise<void> {
  const deadLetters = new DeadLetters(codec, 'event-sink');
  await deadLetters.load(topic);
  const records = [];
  for (const l of letters)
    records.push(await deadLetters.record(topic, l.partition ?? 0, l.message, l.reason, l.errors));
  await produce(
    dlqTopic(topic),
    records.map((r) => r.value),
  );
}

/** Runs a dlq command in-process; its output lines. */
async function dlq(topic: string, ...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runDlq(parseDlqArgs(argv, { now: Date.now(), inputTopics: [topic] }), {
    kafka,
    codec,
    out: (line) => lines.push(...line.split('\n')),
    progress: () => {},
  });
  return lines;
}

/** Runs the real command: node --import tsx services/tools/src/dlq.ts ... */
const dlqProcess = (...argv: string[]) => runTool('dlq', argv);

// One private topic with four dead letters: two real events (dead-lettered for reasons since
// fixed), JSON that never was Avro, and the wire format with a schema id nobody registered.
const topic = await privateTopic(1);
const dlqName = dlqTopic(topic);
const [fixedA, fixedB] = testEvents(2, (i) => ({ event: i === 0 ? 'Product Viewed' : 'Order Completed' }));
const garbage = Buffer.from('{"userId":"alice@example.com","event":"Signed Up"}');
const unknownSchema = Buffer.from([0, 0x7f, 0xff, 0xff, 0x00, 2, 4, 6]);
const schemaId = await eventSchema();
await deadLetter(topic, [
  {
    message: original(100, await encode(fixedA!), fixedA!.userId!, { 'cdp-source': 'web-shop' }),
    reason: 'future-timestamp',
    errors: ['timestamp is 3 days ahead of receivedAt'],
  },
  {
    message: original(101, await encode(fixedB!), fixedB!.userId!, {
      'cdp-source': 'web-shop',
      trace: 't-1',
    }),
    reason: 'impossible-value',
    errors: ['event value 10000000000 does not fit DECIMAL(10,2)'],
  },
  {
    message: original(102, garbage, 'k-garbage'),
    reason: 'undecodable',
    errors: ['Message encoded with magic byte {"type":"Buffer","data":[123]}, expected 0'],
  },
  { message: original(103, unknownSchema, 'k-unknown'), reason: 'undecodable', errors: ['schema not found'] },
]);

t.test('list: a line per dead letter, counts by reason, nothing personal', async (t) => {
  const out = await dlq(topic, 'list', '--topic', topic);
  const text = out.join('\n');
  t.equal(out[0], `${dlqName}: 4 dead letters`);
  t.match(out[1], /^OFFSET +FAILED AT +ORIGINAL +REASON +SERVICE +FIRST ERROR +RECORD$/);
  const row = (offset: number) => out.find((l) => l.startsWith(`${offset} `)) ?? '';
  t.match(
    row(0),
    new RegExp(
      `^0 +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +${topic.replace(/\./g, '\\.')}/0@100 +future-timestamp +event-sink +"timestamp is 3 days ahead of receivedAt" +TRACK "Product Viewed" messageId=${fixedA!.messageId}$`,
    ),
  );
  t.match(row(1), /impossible-value .* TRACK "Order Completed" messageId=/);
  t.match(
    row(2),
    new RegExp(
      `@102 +undecodable .* ${garbage.length} bytes, not the Confluent wire format: the first byte is 0x7b`,
    ),
  );
  t.match(row(3), /@103 +undecodable .* 8 bytes, schema id 2147483392: /);
  t.match(
    text,
    /by reason \(4 dead letters\):\n {2}undecodable +2\n {2}future-timestamp +1\n {2}impossible-value +1$/,
  );
  t.notMatch(
    text,
    new RegExp(`${fixedA!.userId}|alice@example.com|k-garbage`),
    'no keys, user ids or payload text',
  );

  const undecodable = await dlq(topic, 'list', '--topic', dlqName, '--reason', 'undecodable');
  t.equal(undecodable[0], `${dlqName}: 4 dead letters, 2 matching`);
  t.same(
    undecodable.filter((l) => /^\d+ /.test(l)).map((l) => l.split(' ')[0]),
    ['2', '3'],
  );
  t.match(undecodable.join('\n'), /by reason \(2 dead letters matching\):\n {2}undecodable +2$/);

  const newest = await dlq(topic, 'list', '--topic', topic, '--limit', '1', '--since', '1h');
  t.equal(newest[0], `${dlqName}: 4 dead letters, 4 matching, the newest 1 shown (--limit)`);
  t.same(
    newest.filter((l) => /^\d+ /.test(l)).map((l) => l.split(' ')[0]),
    ['3'],
  );

  const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
  const none = await dlq(topic, 'list', '--topic', topic, '--since', tomorrow);
  t.equal(none[0], `${dlqName}: 4 dead letters, 0 matching`);
  t.equal(none.at(-1), 'no dead letters');

  await t.rejects(
    dlq(topic, 'list', '--topic', randomName('test.none')),
    /topic test\.none-\w+\.dlq does not exist/,
  );
});

t.test('reading a dead-letter topic commits nothing and leaves no consumer group behind', async (t) => {
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  // Three records in three produce requests, fetched one request's records at a time: a consumer
  // that committed would have done so after the first batches, before the last record is handed out.
  const input = await privateTopic(1);
  for (const n of [1, 2, 3]) await produce(dlqTopic(input), [Buffer.from(`record ${n}`)]);
  const prefix = randomName('dlq-test-read');
  const groups = async () =>
    (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
  const offsets: number[] = [];
  let committedBeforeLast: unknown;
  await readToEnd(
    kafka,
    dlqTopic(input),
    async (_partition, message) => {
      offsets.push(Number(message.offset));
      if (offsets.length === 3) {
        const [groupId] = await groups();
        const fetched = await admin.fetchOffsets({ groupId: groupId!, topics: [dlqTopic(input)] });
        committedBeforeLast = fetched.flatMap((f) => f.partitions.map((p) => p.offset));
      }
    },
    { groupPrefix: prefix, fetchBytesPerPartition: 1 },
  );
  t.same(offsets, [0, 1, 2], 'every record once, up to the end');
  t.same(committedBeforeLast, ['-1'], 'the group committed nothing');
  t.same(await groups(), [], 'and is gone afterwards');
});

t.test('show: the whole envelope, the payload decoded or its bytes and why not', async (t) => {
  const event = (await dlq(topic, 'show', topic, '0')).join('\n');
  t.match(event, new RegExp(`^dead letter ${dlqName.replace(/\./g, '\\.')} offset 0 \\(partition 0\\)`));
  t.match(
    event,
    /reason +future-timestamp\n +errors +timestamp is 3 days ahead of receivedAt\n +attempts +1\n +service +event-sink/,
  );
  t.match(event, new RegExp(`key +"${fixedA!.userId}"`), 'the key, on request');
  t.match(event, /headers +cdp-source: "web-shop"/);
  t.match(event, new RegExp(`Confluent wire format, schema id ${schemaId}, decoded:`));
  t.match(event, new RegExp(`"messageId": "${fixedA!.messageId}"`));
  t.match(event, new RegExp(`"userId": "${fixedA!.userId}"`), 'the payload, on request');

  const bytes = (await dlq(topic, 'show', dlqName, '2')).join('\n');
  t.match(
    bytes,
    new RegExp(
      `payload +${garbage.length} bytes, not decoded: not the Confluent wire format: the first byte is 0x7b, not the magic byte 0`,
    ),
  );
  t.match(bytes, new RegExp(`payload hex +${garbage.toString('hex')}`));
  t.ok(bytes.includes(`payload base64 ${garbage.toString('base64')}`), 'base64');

  const unknown = (await dlq(topic, 'show', dlqName, '3')).join('\n');
  t.match(unknown, /payload +8 bytes, not decoded: schema id 2147483392: /);
  t.match(unknown, new RegExp(`payload hex +${unknownSchema.toString('hex')}`));

  await t.rejects(
    dlq(topic, 'show', topic, '4'),
    new RegExp(`${dlqName.replace(/\./g, '\\.')} holds offsets 0 to 3; 4 is not there`),
  );
  await t.rejects(dlq(topic, 'show', topic, '1:0'), /has no partition 1/);
});

t.test('the command as a process: output, exit codes, usage', async (t) => {
  const listed = await dlqProcess('list', '--topic', topic, '--reason', 'future-timestamp');
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, new RegExp(`^${dlqName.replace(/\./g, '\\.')}: 4 dead letters, 1 matching\n`));
  t.match(listed.stdout, new RegExp(`\n0 .* future-timestamp .* messageId=${fixedA!.messageId}\n`));
  t.equal(listed.stderr, '', 'nothing on stderr');

  const noSelection = await dlqProcess('replay', topic);
  t.equal(noSelection.code, 2, 'refuses a replay without a selection');
  t.match(noSelection.stderr, /^dlq: replay needs a selection: --offsets LIST, --reason R or --all/);
  t.match(noSelection.stderr, /usage: npm run dlq -- <command>/);
  t.equal(noSelection.stdout, '');

  const badSince = await dlqProcess('list', '--since', 'last tuesday');
  t.equal(badSince.code, 2);
  t.match(badSince.stderr, /--since "last tuesday" is neither a duration/);

  const missing = await dlqProcess('show', topic, '99');
  t.equal(missing.code, 1, 'a failure, not a usage error');
  t.match(missing.stderr, /^dlq: failed: .* holds offsets 0 to 3; 99 is not there\n$/);
});

t.test('replay: original bytes, key and headers back to the original topic', async (t) => {
  const before = await endOffsets(kafka, [topic]);

  const dry = await dlq(topic, 'replay', topic, '--reason', 'impossible-value', '--dry-run');
  t.match(
    dry[0],
    new RegExp(
      `^would replay ${dlqName.replace(/\./g, '\\.')}:1 -> ${topic.replace(/\./g, '\\.')}/0  impossible-value  TRACK "Order Completed"`,
    ),
  );
  t.match(dry.at(-1), /^dry run: 1 dead letter of .* would be replayed to .*; nothing was produced$/);
  t.same(await endOffsets(kafka, [topic]), before, 'a dry run produces nothing');

  await t.rejects(dlq(topic, 'replay', topic, '--offsets', '1,42'), /nothing replayed: .* 42 is not there/);
  t.same(await endOffsets(kafka, [topic]), before, 'an offset that is not there: nothing produced');

  const out = await dlq(topic, 'replay', topic, '--reason', 'impossible-value');
  t.match(
    out[0],
    new RegExp(
      `^replayed ${dlqName.replace(/\./g, '\\.')}:1 -> ${topic.replace(/\./g, '\\.')}/0@0  impossible-value`,
    ),
  );
  t.equal(out.at(-1), `replayed 1 dead letter of ${dlqName} to ${topic}`);

  const records = await readRange(kafka, await beginning(kafka, [topic]));
  t.equal(records.length, 1, 'exactly the one selected');
  const [replayed] = records;
  t.equal(replayed!.partition, 0, 'its original partition');
  t.equal(replayed!.key, fixedB!.userId, 'its key');
  t.ok(replayed!.value?.equals(await encode(fixedB!)), 'its payload bytes, unchanged');
  t.same(replayed!.headers, {
    'cdp-source': 'web-shop',
    trace: 't-1',
    [REPLAYED_FROM_HEADER]: `${dlqName}:1`,
    'cdp-replay-for': 'event-sink',
  });

  const undecodable = await dlq(topic, 'replay', topic, '--all', '--dry-run');
  t.equal(undecodable.filter((l) => l.startsWith('would replay')).length, 4, '--all takes every dead letter');
});

t.test('a replay is applied once, however often it is replayed', async (t) => {
  const input = await privateTopic(1);
  const [event] = testEvents(1);
  await deadLetter(input, [
    {
      message: original(7, await encode(event!), event!.userId!),
      reason: 'future-timestamp',
      errors: ['timestamp is 3 days ahead of receivedAt'],
    },
  ]);
  const rows = async () =>
    (
      await db.query<{ n: number }>(
        'test.count',
        'SELECT count(*)::int AS n FROM customer_events WHERE message_id = $1',
        [event!.messageId],
      )
    ).rows[0]!.n;
  t.equal(await rows(), 0, 'not in customer_events while dead-lettered');

  const group = randomName('dlq-sink');
  const sink = startSink({ EVENT_SINK_TOPIC: input, EVENT_SINK_GROUP: group });
  t.teardown(() => void sink.child.kill('SIGKILL'));

  for (const round of [1, 2]) {
    const replay = await dlqProcess('replay', input, '--offsets', '0');
    t.equal(replay.code, 0, `replay ${round} exits 0 ${replay.stderr}`);
    t.match(
      replay.stdout,
      new RegExp(`replayed ${dlqTopic(input).replace(/\./g, '\\.')}:0 -> .*/0@${round - 1} `),
    );
  }
  // Both replayed records are behind the sink once its stored offset passed them (a duplicate is
  // dropped in the same transaction that stores the offset).
  await waitFor(
    'the sink past both replays',
    async () => (await readOffset(db, group, input, 0)) === 2,
    60_000,
  );
  t.equal(await rows(), 1, 'exactly once in customer_events');
  const { rows: stored } = await db.query<{ event_type: string }>(
    'test.row',
    'SELECT event_type FROM customer_events WHERE message_id = $1',
    [event!.messageId],
  );
  t.equal(stored[0]!.event_type, 'product_viewed', 'the replayed event itself');

  sink.child.kill('SIGTERM');
  t.equal((await sink.exit).code, 0, 'the sink stops cleanly');
});
