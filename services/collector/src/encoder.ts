import type { AvroCodec } from '../../shared/src/avro/registry.js';
import { RetryableError } from '../../shared/src/errors.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { Topics, valueSubject } from '../../shared/src/topics.js';
import type { Outgoing } from './mapping/segment.js';

const INPUT_TOPICS = [Topics.events, Topics.identities, Topics.orders, Topics.campaignEvents];

/**
 * Encodes outgoing records with the schema registered for their topic, and names the topic with
 * the configured prefix. The ids are looked up once at start (bootstrap registers the schemas);
 * after that encoding is local, with no registry round trip per event.
 */
export class RecordEncoder {
  private encoders = new Map<string, (value: unknown) => Buffer>();

  constructor(
    private readonly codec: AvroCodec,
    private readonly topicPrefix = '',
  ) {}

  get loaded(): boolean {
    return this.encoders.size === INPUT_TOPICS.length;
  }

  async load(): Promise<void> {
    const encoders = new Map<string, (value: unknown) => Buffer>();
    for (const topic of INPUT_TOPICS) {
      encoders.set(topic, await this.codec.encoderFor(await this.codec.latestId(valueSubject(topic))));
    }
    this.encoders = encoders;
  }

  encode(o: Outgoing): OutRecord {
    const encode = this.encoders.get(o.topic);
    // Not loaded yet: the registry was unreachable at start and the loader is still retrying. A
    // dependency outage, so the client hears 503 and retries, like a Kafka outage.
    if (encode === undefined) throw new RetryableError(`no schema loaded yet for ${o.topic}`);
    return { topic: this.topicPrefix + o.topic, key: o.key, value: encode(o.value) };
  }
}
