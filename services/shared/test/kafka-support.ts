/**
 * Kafka helpers for the integration tests: note where topics end, and read exactly a range of
 * offsets back with a throwaway consumer group. Everything goes through kafka/client.ts.
 */
import { isRetryable } from '../src/errors.js';
import { createConsumer, createKafka, type Kafka } from '../src/kafka/client.js';
import { config, logger, randomName, waitFor } from './support.js';

/** A client for tests: its own client id, the configured (or given) brokers. */
export function testKafka(brokers: string[] = config.kafkaBrokers, clientId = randomName('test')): Kafka {
  return createKafka({ brokers, clientId, logger, requestTimeoutMs: 10_000, retries: 5 });
}

/** Per topic, per partition: an offset (where the topic ends now, or where to start reading). */
export type Offsets = Record<string, { partition: number; offset: string }[]>;

/** The end offsets (high watermarks) of `topics` now: what is produced later lies at or after them. */
export async function endOffsets(kafka: Kafka, topics: readonly string[]): Promise<Offsets> {
  // Right after a broker restarts or resumes, leadership may still be settling
  // (NOT_LEADER_FOR_PARTITION): retriable errors are waited out, anything else fails the test.
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchEndOffsets(kafka, topics);
    } catch (err) {
      if (!isRetryable(err) || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function fetchEndOffsets(kafka: Kafka, topics: readonly string[]): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Offsets = {};
    for (const topic of topics) {
      out[topic] = (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({
        partition,
        offset: high,
      }));
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** Offset 0 of every partition of `topics`: read them from the beginning. */
export async function beginning(kafka: Kafka, topics: readonly string[]): Promise<Offsets> {
  const ends = await endOffsets(kafka, topics);
  return Object.fromEntries(
    Object.entries(ends).map(([topic, ps]) => [
      topic,
      ps.map((p) => ({ partition: p.partition, offset: '0' })),
    ]),
  );
}

export interface Consumed {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Every record of `topics` from `from` up to (not including) the topics' end offsets as they are
 * when this is called: exactly what was in that range, each record once, so a test can count
 * duplicates. A fresh consumer group seeks each partition to its start; the read is complete when
 * every partition's position reached its end (transaction markers included, which are never
 * delivered as messages but do advance the position).
 */
export async function readRange(kafka: Kafka, from: Offsets, timeoutMs = 20_000): Promise<Consumed[]> {
  const topics = Object.keys(from);
  const to = await endOffsets(kafka, topics);
  const pk = (topic: string, partition: number) => `${topic}/${partition}`;
  const position = new Map<string, bigint>();
  const target = new Map<string, bigint>();
  for (const topic of topics) {
    for (const { partition, offset } of from[topic]!) position.set(pk(topic, partition), BigInt(offset));
    for (const { partition, offset } of to[topic]!) target.set(pk(topic, partition), BigInt(offset));
  }
  const done = () => [...target].every(([k, end]) => (position.get(k) ?? 0n) >= end);
  const records: Consumed[] = [];
  if (done()) return records;

  const consumer = createConsumer(kafka, {
    groupId: randomName('test-read'),
    maxWaitTimeInMs: 250,
    retry: { retries: 5 },
  });
  // A batch moves the position only when it continues from it: batches fetched before the seek
  // took effect (at the group's initial "latest" position) must not count as progress.
  const advance = (
    topic: string,
    partition: number,
    firstOffset: string | null,
    lastOffset: string | null,
  ) => {
    if (firstOffset === null || lastOffset === null) return;
    const k = pk(topic, partition);
    const pos = position.get(k) ?? 0n;
    if (BigInt(firstOffset) <= pos && BigInt(lastOffset) + 1n > pos) position.set(k, BigInt(lastOffset) + 1n);
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    advance(payload.topic, payload.partition, payload.firstOffset, payload.lastOffset),
  );
  // Seek once the group has assigned the partitions: seeking as soon as run() resolves can come
  // before kafkajs has created the group ("consumer#run must be called first").
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const topic of topics) {
      for (const { partition, offset } of from[topic]!) {
        const k = pk(topic, partition);
        if ((position.get(k) ?? 0n) < (target.get(k) ?? 0n)) consumer.seek({ topic, partition, offset });
      }
    }
  });
  const seen = new Set<string>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const end = target.get(pk(topic, partition)) ?? 0n;
        const start = BigInt(from[topic]!.find((p) => p.partition === partition)?.offset ?? '0');
        const offset = BigInt(message.offset);
        if (offset < start || offset >= end) return;
        // A consumer may be handed the same offset twice (a refetch); the log holds it once.
        const id = `${pk(topic, partition)}@${message.offset}`;
        if (seen.has(id)) return;
        seen.add(id);
        const headers: Record<string, string> = {};
        for (const [name, v] of Object.entries(message.headers ?? {}))
          if (v !== undefined) headers[name] = String(v);
        records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          value: message.value,
          headers,
        });
      },
    });
    await waitFor(`reading ${topics.join(', ')} up to their end offsets`, done, timeoutMs, 50);
  } finally {
    await consumer.disconnect();
  }
  return records;
}
