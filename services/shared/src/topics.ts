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

export const topicSpecs: readonly TopicSpec[] = [
  ...inputs,
  ...inputs.map((t) => ({ topic: dlqTopic(t.topic), partitions: 1, schemaFile: 'dead-letter.avsc' })),
  { topic: Topics.customerChanges, partitions: 3 },
  { topic: Topics.segmentChanges, partitions: 3 },
];
