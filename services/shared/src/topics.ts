/** Topic names, their partition counts and value schemas live here and nowhere else. */

export const Topics = {
  events: 'cdp.events',
  identities: 'cdp.identities',
  orders: 'cdp.orders',
  campaignEvents: 'cdp.campaign-events',
  customerChanges: 'cdp.customer-changes',
  segmentChanges: 'cdp.segment-changes',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export const dlqTopic = (topic: string): string => `${topic}.dlq`;

/** The Confluent subject naming rule (TopicNameStrategy): `<topic>-value`. */
export const valueSubject = (topic: string): string => `${topic}-value`;

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Topic-level configuration overrides, applied at creation and to an existing topic. */
  config?: Readonly<Record<string, string>>;
  /** File under schemas/ holding the value schema; undefined where no schema is registered yet. */
  schemaFile?: string;
}

/*
 * Partitions: the unit of parallelism of a consumer group. Six on the busy input topic lets six
 * sink instances share it (more than this 2-core box needs, few enough that a batch per partition
 * still fills up); low-volume inputs and the derived topics take three. Growing a topic later is
 * possible but moves keys between partitions, so we start with headroom.
 */
const inputs: TopicSpec[] = [
  { topic: Topics.events, partitions: 6, schemaFile: 'event.avsc' },
  { topic: Topics.identities, partitions: 3, schemaFile: 'identity.avsc' },
  { topic: Topics.orders, partitions: 3, schemaFile: 'order.avsc' },
  { topic: Topics.campaignEvents, partitions: 3, schemaFile: 'campaign-event.avsc' },
];

/** The input topics, each with its `<topic>.dlq`. */
export const inputTopics: readonly string[] = inputs.map((t) => t.topic);

/**
 * A dead letter carries its record whole (payload, key, headers) plus the reason, so it is larger
 * than the largest record its input topic accepts (the broker's 1 MiB default). Were the envelope
 * refused as too large, the sink could neither write the record nor set it aside, and would stop.
 */
export const DLQ_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'max.message.bytes': String(8 * 1024 * 1024),
};

/** The dead-letter topic of `topic` (any input topic, also a private one of a test or bench). */
export const dlqSpec = (topic: string): TopicSpec => ({
  topic: dlqTopic(topic),
  partitions: 1,
  schemaFile: 'dead-letter.avsc',
  config: DLQ_TOPIC_CONFIG,
});

/**
 * Every topic a processor consumes: the inputs, and cdp.customer-changes (the segments processor's).
 * Each has its `<topic>.dlq`: a record a processor cannot take (a backend can produce to a derived
 * topic too) is set aside there, and without the topic it could not be, and the processor would stop.
 */
export const consumedTopics: readonly string[] = [...inputTopics, Topics.customerChanges];

export const topicSpecs: readonly TopicSpec[] = [
  ...inputs,
  { topic: Topics.customerChanges, partitions: 3, schemaFile: 'customer-change.avsc' },
  { topic: Topics.segmentChanges, partitions: 3, schemaFile: 'segment-change.avsc' },
  ...consumedTopics.map(dlqSpec),
];
