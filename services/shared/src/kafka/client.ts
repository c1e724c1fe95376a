/**
 * The only module that imports kafkajs: the rest of the code sees these few functions and types,
 * so the client library can be swapped in one place.
 */
import kafkajs, {
  Kafka,
  logLevel as KafkaLogLevel,
  CompressionTypes,
  Partitioners,
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type EachBatchPayload,
  type KafkaMessage,
  type Message,
  type Producer,
  type ProducerConfig,
  type RecordMetadata,
  type IHeaders,
  type LogEntry,
} from 'kafkajs';
import type { Logger } from '../logger.js';
import type { TopicSpec } from '../topics.js';

export type { Admin, Consumer, EachBatchPayload, KafkaMessage, Message, Producer, RecordMetadata, IHeaders };
// kafkajs is CommonJS and builds its exports in a way Node's ESM loader cannot detect for
// CompressionCodecs (a named import of it fails at link time), so take it from the default export.
const CompressionCodecs = kafkajs.CompressionCodecs;
const ConfigResourceTypes = kafkajs.ConfigResourceTypes;
export { CompressionTypes, CompressionCodecs };

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** How long one request may take before it is failed (and the caller decides what to do). */
  requestTimeoutMs?: number;
  /** Retries inside kafkajs before an error reaches us; kept small where we retry ourselves. */
  retries?: number;
}

export function createKafka(opts: KafkaOptions): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    connectionTimeout: 3_000,
    retry: { retries: opts.retries ?? 5, initialRetryTime: 100, maxRetryTime: 5_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      const level =
        entry.level <= KafkaLogLevel.ERROR ? 'error' : entry.level === KafkaLogLevel.WARN ? 'warn' : 'debug';
      log[level]({ namespace: entry.namespace, ...extra }, message);
    },
  });
}

export function createProducer(kafka: Kafka, config: ProducerConfig = {}): Producer {
  // The default partitioner, named so kafkajs does not warn about its v2 change on every start.
  return kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...config,
  });
}

export function createConsumer(kafka: Kafka, config: ConsumerConfig): Consumer {
  return kafka.consumer({ allowAutoTopicCreation: false, ...config });
}

/** Creates the topics that do not exist yet; returns the names it created. */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: -1,
          configEntries: configEntries(s),
        })),
      });
    }
    // Topics made before a setting was added get it too (the overrides are all ours).
    const configured = specs.filter((s) => existing.has(s.topic) && s.config);
    if (configured.length > 0) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: configured.map((s) => ({
          type: ConfigResourceTypes.TOPIC,
          name: s.topic,
          configEntries: configEntries(s),
        })),
      });
    }
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}

const configEntries = (s: TopicSpec) =>
  Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value }));

/** One partition's offsets: the first record still kept (`low`) and the next one to be written (`high`). */
export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

/**
 * The partitions and offsets of each of `topics` that exists, in partition order; a topic that
 * does not exist is absent from the map (the admin client never creates topics).
 */
export async function topicOffsets(
  kafka: Kafka,
  topics: readonly string[],
): Promise<Map<string, PartitionOffsets[]>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const out = new Map<string, PartitionOffsets[]>();
    for (const topic of new Set(topics)) {
      if (!existing.has(topic)) continue;
      const offsets = await admin.fetchTopicOffsets(topic);
      out.set(
        topic,
        offsets
          .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
          .sort((a, b) => a.partition - b.partition),
      );
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

export type { Kafka };

/** The cluster's id (KRaft's cluster.id): which Kafka the stored offsets are offsets of. */
export async function clusterId(kafka: Kafka): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.describeCluster()).clusterId;
  } finally {
    await admin.disconnect();
  }
}
