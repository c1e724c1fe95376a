import type { AvroCodec } from '../../shared/src/avro/registry.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { Topics, valueSubject } from '../../shared/src/topics.js';
import type { Outgoing } from './mapping/segment.js';

const INPUT_TOPICS = [Topics.events, Topics.identities, Topics.orders, Topics.campaignEvents];

/**
 * Encodes outgoing records with the schema registered for their topic. The ids are looked up
 * once at start (bootstrap registers the schemas); after that encoding is local, with no registry
 * round trip per event.
 */
export class RecordEncoder {
  private ids = new Map<string, number>();

  constructor(private readonly codec: AvroCodec) {}

  get loaded(): boolean {
    return this.ids.size === INPUT_TOPICS.length;
  }

  async load(): Promise<void> {
    const ids = new Map<string, number>();
    for (const topic of INPUT_TOPICS) ids.set(topic, await this.codec.latestId(valueSubject(topic)));
    this.ids = ids;
  }

  async encode(o: Outgoing): Promise<OutRecord> {
    const id = this.ids.get(o.topic);
    if (id === undefined) throw new Error(`no schema id loaded for ${o.topic}`);
    return { topic: o.topic, key: o.key, value: await this.codec.encode(id, o.value) };
  }
}
