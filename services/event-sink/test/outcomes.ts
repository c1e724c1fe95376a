/**
 * Where a record ended up, seen from outside the sink: its row in customer_events (by message_id,
 * with the customer's external id), or its dead letter on `<topic>.dlq` (the envelope of
 * schemas/dead-letter.avsc, decoded through the registry, with the original record decoded too
 * when it can be).
 */
import type { AvroCodec } from '../../shared/src/avro/registry.js';
import { createConsumer, type Kafka } from '../../shared/src/kafka/client.js';
import type { Db } from '../../shared/src/pg/gateway.js';
import { randomName, waitFor } from '../../shared/test/support.js';

export interface DeadLetter {
  originalTopic: string;
  partition: number;
  offset: number;
  reason: string;
  errors: string[];
  payload: Buffer | null;
  /** The original record decoded through the registry; undefined when it is not decodable. */
  original?: Record<string, unknown>;
}

export interface DeadLetterWatch {
  /** Every dead letter read so far, in order. */
  letters: DeadLetter[];
  /** Records on the dead-letter topic that are not a decodable envelope: each one is a bug. */
  broken: string[];
  stop(): Promise<void>;
}

/** Reads `dlqTopic` from its beginning, for as long as the test runs. Resolves once the group has joined. */
export async function watchDeadLetters(
  kafka: Kafka,
  codec: AvroCodec,
  dlqTopic: string,
): Promise<DeadLetterWatch> {
  const consumer = createConsumer(kafka, { groupId: randomName('test-dlq-watch'), maxWaitTimeInMs: 100 });
  const letters: DeadLetter[] = [];
  const broken: string[] = [];
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
  await consumer.connect();
  await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) {
        broken.push(`offset ${message.offset}: no value`);
        return;
      }
      let letter: DeadLetter;
      try {
        letter = await codec.decode<DeadLetter>(message.value);
      } catch (err) {
        broken.push(`offset ${message.offset}: not a dead-letter envelope (${(err as Error).message})`);
        return;
      }
      if (letter.payload) {
        letter.original = await codec
          .decode<Record<string, unknown>>(letter.payload)
          .catch((): undefined => undefined);
      }
      letters.push(letter);
    },
  });
  await waitFor(`the dead-letter reader of ${dlqTopic} to join its group`, () => joined, 30_000, 50);
  return { letters, broken, stop: () => consumer.disconnect() };
}

// A type, not an interface: the gateway's row type needs an index signature.
export type StoredEvent = {
  message_id: string;
  external_id: string;
  event_name: string;
  event_properties: string;
  session_id: string | null;
  page_title: string | null;
  user_agent: string | null;
};

/** The customer_events rows of these message ids (a message id twice is a duplicate). */
export async function storedEvents(
  db: Db,
  messageIds: readonly string[],
): Promise<Map<string, StoredEvent[]>> {
  const { rows } = await db.query<StoredEvent>(
    'test.stored-events',
    `SELECT e.message_id, c.customer_id AS external_id, e.event_name, e.event_properties::text AS event_properties,
            e.session_id, e.page_title, e.user_agent
     FROM customer_events e JOIN customers c ON c.id = e.customer_id
     WHERE e.message_id = ANY($1::text[])`,
    [messageIds],
  );
  const out = new Map<string, StoredEvent[]>();
  for (const r of rows) out.set(r.message_id, [...(out.get(r.message_id) ?? []), r]);
  return out;
}
