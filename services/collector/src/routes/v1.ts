import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { OutRecord } from '../../../shared/src/kafka/batching-publisher.js';
import type { Source } from '../../../shared/src/sources/store.js';
import { PoisonError, RetryableError } from '../../../shared/src/errors.js';
import type { CollectorConfig } from '../config.js';
import type { Json, RequestMeta } from '../mapping/common.js';
import { mapSegmentMessage, type Outgoing } from '../mapping/segment.js';
import { mapOrder } from '../mapping/order.js';
import { mapCampaignEvent } from '../mapping/campaign-event.js';
import { writeKeyOf } from '../source-cache.js';
import { jsonLargerThan } from '../event-size.js';
import {
  batchSchema,
  campaignEventsBodySchema,
  errorSchema,
  messageSchemas,
  messageTypes,
  ordersBodySchema,
  successSchema,
  writeKeyQuerySchema,
} from '../schemas.js';

export interface V1Deps {
  config: CollectorConfig;
  resolveSource: (writeKey: string) => Promise<Source | undefined>;
  encode: (o: Outgoing) => OutRecord;
  publish: (records: OutRecord[]) => Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    source?: Source;
    eventCount?: number;
  }
  interface FastifyContextConfig {
    /** The route also takes the write key from `?writeKey=` (RudderStack's beacon cannot set headers). */
    writeKeyInQuery?: boolean;
  }
}

class OverloadedError extends RetryableError {
  constructor() {
    super('the collector is overloaded');
  }
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly errors?: { field: string; message: string }[],
  ) {
    super(message);
  }
}

interface Endpoint {
  url: string;
  /** Other paths real SDKs post the same body to; each is a route of its own with this schema and handler. */
  aliases?: { url: string; summary: string; writeKeyInQuery?: boolean }[];
  summary: string;
  schema: object;
  bodyLimit: number;
  /** Items of the body, each with where it is (for error messages) and how it maps to a record. */
  items: (body: Json) => { at: string; item: Json; map: (item: Json, meta: RequestMeta) => Outgoing }[];
}

export async function v1Routes(app: FastifyInstance, deps: V1Deps): Promise<void> {
  const { config } = deps;

  // Overload: an event loop this late means requests already wait in line; new ones get 503 and
  // Retry-After at once rather than joining the queue until they time out. Scoped to the
  // tracking routes, so health checks and metrics still answer.
  if (config.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: config.maxEventLoopDelayMs,
      customError: OverloadedError,
    });
  }

  app.decorateRequest('source', undefined);
  app.decorateRequest('eventCount', undefined);

  // Authentication comes before validation, so a client with a wrong key hears 401, not 400.
  app.addHook('preValidation', async (req) => {
    const query = req.routeOptions.config.writeKeyInQuery
      ? (req.query as { writeKey?: unknown } | undefined)?.writeKey
      : undefined;
    const key = writeKeyOf(req.headers.authorization, req.body, query);
    if (!key)
      throw new ApiError(
        401,
        'unauthorized',
        'a write key is required (HTTP Basic user, or writeKey in the body)',
      );
    const source = await deps.resolveSource(key).catch((err: unknown) => {
      throw new RetryableError('source lookup unavailable', { cause: err });
    });
    if (!source) throw new ApiError(401, 'unauthorized', 'unknown or revoked write key');
    req.source = source;
  });

  await app.register(rateLimit, {
    hook: 'preHandler',
    max: config.rateLimitPerSecond,
    timeWindow: 1000,
    keyGenerator: (req) => req.source?.id ?? req.ip,
    errorResponseBuilder: (_req, ctx) =>
      new ApiError(
        429,
        'rate_limited',
        `more than ${ctx.max} requests per second for this source; retry after ${ctx.after}`,
      ),
  });

  const single = (type: string) => (body: Json) => [{ at: '(body)', item: body, map: segment(type) }];
  const endpoints: Endpoint[] = [
    ...messageTypes.map((type) => ({
      url: `/v1/${type}`,
      summary: `One ${type} message`,
      // analytics-next posts each call to the type's first letter.
      aliases: [{ url: `/v1/${type.charAt(0)}`, summary: `Alias of /v1/${type} (Segment analytics-next)` }],
      schema: messageSchemas[type],
      bodyLimit: config.maxEventBytes,
      items: single(type),
    })),
    {
      url: '/v1/batch',
      summary: 'A batch of messages, each with its type',
      aliases: [
        { url: '/v1/b', summary: 'Alias of /v1/batch (Segment analytics-next, batching delivery)' },
        {
          url: '/beacon/v1/batch',
          summary:
            'Alias of /v1/batch for navigator.sendBeacon (RudderStack JS SDK, useBeacon): the write key may be in ?writeKey=',
          writeKeyInQuery: true,
        },
      ],
      schema: batchSchema,
      bodyLimit: config.maxBatchBytes,
      items: (body) =>
        (body.batch as Json[]).map((item, i) => ({
          at: `batch[${i}]`,
          item,
          map: segment(String(item.type)),
        })),
    },
    {
      url: '/v1/orders',
      summary: 'One order, or {"orders": [...]}, in the seed\'s column names',
      schema: ordersBodySchema,
      bodyLimit: config.maxBatchBytes,
      items: (body) =>
        Array.isArray(body.orders)
          ? (body.orders as Json[]).map((item, i) => ({ at: `orders[${i}]`, item, map: mapOrder }))
          : [{ at: '(body)', item: body, map: mapOrder }],
    },
    {
      url: '/v1/campaign-events',
      summary: 'Delivery and engagement events of a campaign, one or {"events": [...]}',
      schema: campaignEventsBodySchema,
      bodyLimit: config.maxBatchBytes,
      items: (body) =>
        Array.isArray(body.events)
          ? (body.events as Json[]).map((item, i) => ({ at: `events[${i}]`, item, map: mapCampaignEvent }))
          : [{ at: '(body)', item: body, map: mapCampaignEvent }],
    },
  ];

  for (const ep of endpoints) {
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const body = req.body as Json;
      const items = ep.items(body);
      req.eventCount = items.length;
      const meta: RequestMeta = {
        receivedAt: Date.now(),
        sourceId: req.source!.id,
        ip: req.ip,
        userAgent: req.headers['user-agent'],
        sentAt: typeof body.sentAt === 'string' ? body.sentAt : undefined,
      };
      const records = encodeAll(items, meta, config.maxEventBytes, deps.encode);
      await deps.publish(records);
      return reply.send({ success: true });
    };
    const response = { 200: successSchema, '4xx': errorSchema, '5xx': errorSchema };
    app.post(
      ep.url,
      { bodyLimit: ep.bodyLimit, schema: { summary: ep.summary, body: ep.schema, response } },
      handler,
    );
    for (const alias of ep.aliases ?? []) {
      app.post(
        alias.url,
        {
          bodyLimit: ep.bodyLimit,
          config: { writeKeyInQuery: alias.writeKeyInQuery ?? false },
          schema: {
            summary: alias.summary,
            body: ep.schema,
            ...(alias.writeKeyInQuery ? { querystring: writeKeyQuerySchema } : {}),
            response,
          },
        },
        handler,
      );
    }
  }
}

const segment = (type: string) => (item: Json, meta: RequestMeta) => mapSegmentMessage(type, item, meta);

/** All or nothing: every item is checked and encoded before any is sent. */
function encodeAll(
  items: ReturnType<Endpoint['items']>,
  meta: RequestMeta,
  maxEventBytes: number,
  encode: V1Deps['encode'],
): OutRecord[] {
  if (items.length > 1) {
    const tooLarge = items
      .filter(({ item }) => jsonLargerThan(item, maxEventBytes))
      .map(({ at }) => ({ field: at, message: `event is larger than ${maxEventBytes} bytes` }));
    if (tooLarge.length > 0) throw new ApiError(413, 'too_large', 'an event is too large', tooLarge);
  }
  const records: OutRecord[] = [];
  const invalid: { field: string; message: string }[] = [];
  for (const { at, item, map } of items) {
    try {
      records.push(encode(map(item, meta)));
    } catch (err) {
      if (!(err instanceof PoisonError)) throw err;
      invalid.push({ field: at, message: `cannot be encoded: ${err.message}` });
    }
  }
  if (invalid.length > 0) throw new ApiError(400, 'invalid', 'the request has invalid events', invalid);
  return records;
}

export function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unmatched';
}
