/**
 * JSON schemas of the HTTP API, compiled by Fastify's Ajv (allErrors) and published in
 * /openapi.json. Segment's spec is lenient by design; we accept what its SDKs send and reject
 * only what the pipeline cannot store.
 */
import { ORDER_STATUSES } from '../../shared/src/order-status.js';
import { CAMPAIGN_EVENT_TYPES } from '../../shared/src/campaigns/send-status.js';

const dateTime = { type: 'string', format: 'date-time' } as const;
const id = { type: 'string', minLength: 1, maxLength: 100 } as const;
/**
 * A customer id that may be absent: analytics.js sends `"userId": null` for anonymous visitors and
 * RudderStack's JS SDK `"userId": ""`. Null and "" both mean absent (the mapping drops them too,
 * see `asId`); `identified` then needs the other one.
 */
const optionalId = { type: ['string', 'null'], maxLength: 100 } as const;
const object = { type: 'object' } as const;

const common = {
  messageId: { type: 'string', minLength: 1, maxLength: 255 },
  userId: optionalId,
  anonymousId: optionalId,
  timestamp: dateTime,
  originalTimestamp: dateTime,
  sentAt: dateTime,
  context: object,
  integrations: object,
  writeKey: { type: 'string' },
} as const;

/** A message needs a customer: a userId or an anonymousId that is neither null nor "". */
const identified = {
  anyOf: [
    { required: ['userId'], properties: { userId: { type: 'string', minLength: 1 } } },
    { required: ['anonymousId'], properties: { anonymousId: { type: 'string', minLength: 1 } } },
  ],
} as const;

const message = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties: { ...common, ...properties },
  required,
  ...identified,
});

export const messageSchemas = {
  track: message(
    { type: { const: 'track' }, event: { type: 'string', minLength: 1, maxLength: 200 }, properties: object },
    ['event'],
  ),
  page: message({
    type: { const: 'page' },
    name: { type: 'string', maxLength: 200 },
    category: { type: 'string' },
    properties: object,
  }),
  screen: message({
    type: { const: 'screen' },
    name: { type: 'string', maxLength: 200 },
    category: { type: 'string' },
    properties: object,
  }),
  identify: message({ type: { const: 'identify' }, traits: object }),
  group: message({ type: { const: 'group' }, groupId: id, traits: object }, ['groupId']),
  alias: {
    type: 'object',
    // Both ids are the point of an alias: "" is no id here, so it fails like a missing one.
    properties: { ...common, type: { const: 'alias' }, userId: id, previousId: id },
    required: ['userId', 'previousId'],
  },
} as const;

export type MessageType = keyof typeof messageSchemas;
export const messageTypes = Object.keys(messageSchemas) as MessageType[];

export const batchSchema = {
  type: 'object',
  required: ['batch'],
  properties: {
    batch: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['type'],
        discriminator: { propertyName: 'type' },
        oneOf: messageTypes.map((t) => messageSchemas[t]),
      },
    },
    sentAt: dateTime,
    context: object,
    writeKey: { type: 'string' },
  },
} as const;

const money = { type: 'number', minimum: 0, maximum: 9_999_999_999 } as const;
const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;

const orderItem = {
  type: 'object',
  required: ['product_id', 'product_name', 'unit_price', 'quantity'],
  properties: {
    product_id: text(100),
    product_name: text(500),
    product_category: text(100),
    product_subcategory: text(100),
    product_sku: text(100),
    product_brand: text(100),
    unit_price: money,
    quantity: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    total_price: money,
    discount_amount: money,
    product_attributes: object,
  },
} as const;

export const orderStatuses = ORDER_STATUSES;

export const orderSchema = {
  type: 'object',
  required: ['order_id'],
  ...identified,
  properties: {
    messageId: common.messageId,
    userId: optionalId,
    anonymousId: optionalId,
    timestamp: dateTime,
    sentAt: dateTime,
    writeKey: common.writeKey,
    order_id: text(100),
    order_status: { enum: orderStatuses },
    order_total: money,
    currency: { type: 'string', pattern: '^[A-Za-z]{3}$' },
    subtotal: money,
    tax_amount: money,
    shipping_amount: money,
    discount_amount: money,
    ordered_at: dateTime,
    confirmed_at: dateTime,
    shipped_at: dateTime,
    delivered_at: dateTime,
    cancelled_at: dateTime,
    shipping_country: text(50),
    shipping_state: text(50),
    shipping_city: text(100),
    billing_country: text(50),
    billing_state: text(50),
    billing_city: text(100),
    acquisition_channel: text(100),
    campaign_id: { type: 'string', format: 'uuid' },
    // promotions.promotion_code is VARCHAR(100): the orders processor looks a code up whole and
    // cuts it only for customer_orders.promotion_code (50).
    promotion_code: text(100),
    payment_method: text(50),
    payment_status: text(50),
    is_subscription: { type: 'boolean' },
    subscription_id: text(100),
    order_source: text(50),
    notes: text(10_000),
    custom_fields: object,
    items: { type: 'array', maxItems: 1000, items: orderItem },
  },
} as const;

/** One order, or `{"orders": [...]}`; if/then/else so errors come from the shape the client meant. */
export const ordersBodySchema = {
  type: 'object',
  if: { required: ['orders'] },
  then: {
    properties: {
      orders: { type: 'array', minItems: 1, maxItems: 500, items: orderSchema },
      writeKey: common.writeKey,
    },
  },
  else: orderSchema,
} as const;

export const campaignEventSchema = {
  type: 'object',
  required: ['campaign_id', 'event', 'timestamp'],
  ...identified,
  properties: {
    campaign_id: { type: 'string', format: 'uuid' },
    userId: optionalId,
    anonymousId: optionalId,
    event: { enum: CAMPAIGN_EVENT_TYPES },
    timestamp: dateTime,
    sentAt: dateTime,
    messageId: common.messageId,
    variant: text(50),
    url: text(2048),
    value: { type: 'number' },
    reason: text(500),
    writeKey: common.writeKey,
  },
} as const;

export const campaignEventsBodySchema = {
  type: 'object',
  if: { required: ['events'] },
  then: {
    properties: {
      events: { type: 'array', minItems: 1, maxItems: 2000, items: campaignEventSchema },
      writeKey: common.writeKey,
    },
  },
  else: campaignEventSchema,
} as const;

/** `?writeKey=` of the beacon route: navigator.sendBeacon sets no headers (only a Blob's content type). */
export const writeKeyQuerySchema = {
  type: 'object',
  properties: { writeKey: { type: 'string', description: 'the source write key' } },
} as const;

export const successSchema = {
  type: 'object',
  properties: { success: { type: 'boolean' } },
} as const;

export const errorSchema = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    error: { type: 'string' },
    message: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;
