/** Orders tests: records as the topics carry them, the definition's write on the real database. */
import { Registry } from 'prom-client';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { transactionOutbox } from '../../shared/src/pipeline/outbox.js';
import type { KafkaMessage } from '../../shared/src/kafka/client.js';
import type { Decoded } from '../../shared/src/pipeline/processor.js';
import { config, randomName } from '../../shared/test/support.js';
import type { OrderUpdate } from '../src/mapping/fields.js';
import type { OrderRecord } from '../src/mapping/order-record.js';
import type { EventTrack } from '../src/mapping/order-track.js';
import { limits, update } from './fixtures.js';
import { createOrdersProcessor } from '../src/processor.js';

export { randomName };
export const db = createDb({
  connectionString: config.databaseUrl,
  service: 'orders-test',
  registry: new Registry(),
});
export const codec = new AvroCodec(config.schemaRegistryUrl);
export * from './fixtures.js';

export function newProcessor() {
  const registry = new Registry();
  const definition = createOrdersProcessor(
    { codec, registry },
    { groupId: randomName('orders-test'), topicPrefix: '', maxFutureMs: limits.maxFutureMs },
  );
  return { definition, registry };
}

let offset = 0;
const asDecoded = (value: OrderUpdate): Decoded<OrderUpdate> => ({
  value,
  message: {} as KafkaMessage,
  topic: 'cdp.orders',
  partition: 0,
  offset: offset++,
});

type Definition = ReturnType<typeof newProcessor>['definition'];

/** The definition's write on `records` in one transaction, as the runtime calls it. */
export function write(definition: Definition, records: readonly (OrderRecord | EventTrack | OrderUpdate)[]) {
  const updates = records.map((r) => ('fields' in r ? (r as OrderUpdate) : update(r)));
  return db.transaction('orders-test.write', (tx) =>
    definition.write(tx, updates.map(asDecoded), { outbox: transactionOutbox(tx, 'orders') }),
  );
}

export type OrderDbRow = Record<string, unknown> & {
  id: string;
  order_id: string;
  customer: string;
  order_status: string;
  order_total: string;
  is_first_order: boolean;
};

export async function orderRow(orderId: string): Promise<OrderDbRow | undefined> {
  const { rows } = await db.query<OrderDbRow>(
    'test.order',
    `SELECT o.*, c.customer_id AS customer FROM customer_orders o JOIN customers c ON c.id = o.customer_id
     WHERE o.order_id = $1`,
    [orderId],
  );
  return rows[0];
}

export async function itemsOf(orderId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    'test.items',
    `SELECT i.product_id, i.product_name, i.product_category, i.product_sku, i.product_brand, i.unit_price,
            i.quantity, i.total_price, i.discount_amount, i.product_attributes
     FROM customer_order_items i JOIN customer_orders o ON o.id = i.order_id
     WHERE o.order_id = $1 ORDER BY i.product_id, i.quantity, i.unit_price`,
    [orderId],
  );
  return rows;
}

export async function stateOf(orderId: string) {
  const { rows } = await db.query<{ parked: boolean; state: unknown }>(
    'test.state',
    'SELECT parked, state FROM order_state WHERE order_id = $1',
    [orderId],
  );
  return rows[0];
}
