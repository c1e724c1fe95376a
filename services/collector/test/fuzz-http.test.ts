/**
 * Hostile input over HTTP, end to end: a seeded property-based fuzz (fast-check) over every route
 * of the collector's OpenAPI document, on the real broker and registry (the collector wired as
 * main.ts wires it, in-process) with the real event sink as a process of its own, everything on
 * topics of a private TOPIC_PREFIX.
 *
 * - No request gets a 5xx, none pollutes Object.prototype, and a body nested deeper than 64 levels
 *   is a 400 naming the field.
 * - Every track/page/screen event answered 200 (with a messageId we chose) is afterwards in
 *   customer_events exactly once, normalised (U+0000 and lone surrogates become U+FFFD), or on the
 *   dead-letter topic with a reason: never neither, never both.
 * - The sink process never exits, and an ordinary event sent after everything lands.
 *
 * Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> npx tap services/collector/test/fuzz-http.test.ts
 * (FUZZ_RUNS changes the number of fuzzed requests, 400 by default).
 */
import t from 'tap';
import fc from 'fast-check';
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { ensureTopics } from '../../shared/src/kafka/client.js';
import type { CollectorProducer } from '../src/producer.js';
import { dlqTopic, Topics, dlqSpec } from '../../shared/src/topics.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import { testKafka } from '../../shared/test/kafka-support.js';
import {
  FUZZ_SEED,
  arr,
  asColumn,
  atLimit,
  canonicalJson,
  hostileJson,
  hostileNonEmpty,
  hostileNumberToken,
  hostileObject,
  hostileString,
  jsonText,
  nestedText,
  nestingDepth,
  normalised,
  num,
  obj,
  show,
  str,
  type JNode,
} from '../../shared/test/hostile.js';
import { startSink, type ProcessorProcess } from '../../shared/test/processor-process.js';
import { storedEvents, watchDeadLetters, type DeadLetterWatch } from '../../event-sink/test/outcomes.js';
import { byGroup, judge, type ExpectedEvent } from '../../event-sink/test/expected-event.js';
import { loadSinkConfig } from '../../event-sink/src/config.js';
import { wiredCollector, type WiredCollector } from './wired.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const MAX_DEPTH = 64;
const seedNote = `FUZZ_SEED=${FUZZ_SEED}`;
t.comment(`fuzz seed ${FUZZ_SEED}, ${RUNS} runs: ${seedNote} npx tap ${import.meta.url.split('/').pop()}`);

// ---------------------------------------------------------------------------------------------
// Routes: every POST path of the OpenAPI document must have a generator here.

type Kind =
  'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias' | 'batch' | 'orders' | 'campaign-events';
const ROUTE_KINDS: Record<string, Kind> = {
  '/v1/track': 'track',
  '/v1/t': 'track',
  '/v1/page': 'page',
  '/v1/p': 'page',
  '/v1/screen': 'screen',
  '/v1/s': 'screen',
  '/v1/identify': 'identify',
  '/v1/i': 'identify',
  '/v1/group': 'group',
  '/v1/g': 'group',
  '/v1/alias': 'alias',
  '/v1/a': 'alias',
  '/v1/batch': 'batch',
  '/v1/b': 'batch',
  '/beacon/v1/batch': 'batch',
  '/v1/orders': 'orders',
  '/v1/campaign-events': 'campaign-events',
};
const EVENT_KINDS = new Set(['track', 'page', 'screen']);
/** Routes whose body may be as large as a batch; the others take one event (MAX_EVENT_BYTES). */
const BATCH_SIZED = new Set<Kind>(['batch', 'orders', 'campaign-events']);

// ---------------------------------------------------------------------------------------------
// Placeholders the generators write and each request fills in: a fresh messageId tag per
// occurrence (so every event is findable, and no two collide), and invalid UTF-8 byte sequences
// (which no JavaScript string can hold).

const RUN_TAG = randomBytes(4).toString('hex');
let tagCounter = 0;
/** 16 characters, as long as the tag that replaces it, so lengths at a limit stay exact. */
const MID = '@MID@___________';
const nextTag = () => `f${RUN_TAG}${(tagCounter++).toString(36).padStart(7, '0')}`;

const BAD_UTF8: readonly number[][] = [
  [0xff],
  [0xc0, 0x80], // overlong NUL
  [0xed, 0xa0, 0x80], // a lone surrogate, UTF-8 encoded (CESU)
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xe2, 0x82], // truncated
  [0x80],
  [0xf0, 0x9f, 0x98], // truncated emoji
  [0xfe, 0xff],
];
const BAD_MARK = /@@BAD(\d)@@/;

/** Request text with its placeholders filled in, as the bytes sent. */
function materialise(template: string): Buffer {
  const text = template.split(MID).reduce((acc, part) => `${acc}${nextTag()}${part}`);
  const parts = text.split(BAD_MARK);
  return Buffer.concat(
    parts.map((p, i) => (i % 2 === 0 ? Buffer.from(p, 'utf8') : Buffer.from(BAD_UTF8[Number(p)]!))),
  );
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Strings for HTTP bodies: hostile, sometimes with invalid UTF-8 bytes in them. */
const httpString = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc
      .tuple(hostileString, fc.integer({ min: 0, max: BAD_UTF8.length - 1 }))
      .map(([s, i]) => `${s}@@BAD${i}@@`),
  },
);
const httpNonEmpty = fc.oneof(
  { weight: 6, arbitrary: hostileNonEmpty },
  { weight: 1, arbitrary: httpString },
);
const opt = <T>(a: fc.Arbitrary<T>, freq = 2) => fc.option(a, { nil: undefined, freq });

const messageIdNode = opt(
  fc.oneof(
    { weight: 5, arbitrary: hostileString.map((s) => str(MID + s)) },
    { weight: 2, arbitrary: atLimit(255, MID).map(str) },
    { weight: 1, arbitrary: fc.constant(str(MID)) },
  ),
  8,
);
const idNode = fc.oneof(
  { weight: 8, arbitrary: httpNonEmpty.map(str) },
  { weight: 2, arbitrary: atLimit(100).map(str) },
  { weight: 1, arbitrary: fc.constantFrom(str('a\u0000b'), str('\ud800'), str(''), num(42)) },
);
const isoNow = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
const dateNode = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.integer({ min: -3 * 86_400_000, max: 0 }).map((ms) => str(isoNow(ms))) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      str('2000-01-01T00:00:00.000Z'),
      str('1970-01-01T00:00:00Z'),
      str('9999-12-31T23:59:59.999Z'),
      str('2016-12-31T23:59:60Z'),
      str('2024-02-29T12:00:00+14:00'),
      str('2024-13-01T00:00:00Z'),
      str('+275760-09-13T00:00:00Z'),
      str('2024-01-01T00:00:00.123456789Z'),
      str('not a date'),
      str('2024-01-01T00:00:00Z\u0000'),
      num(1_700_000_000_000),
    ),
  },
);
/** sentAt: the client's clock when it sent, a moment ago (an old one would move the event into the future). */
const sentAtNode = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.integer({ min: -5_000, max: 0 }).map((ms) => str(isoNow(ms))) },
  { weight: 1, arbitrary: dateNode },
);
const numberNode = hostileNumberToken.map(num);
const scalarNode = fc.oneof(
  { weight: 3, arbitrary: httpString.map(str) },
  { weight: 2, arbitrary: numberNode },
  { weight: 1, arbitrary: fc.constantFrom<JNode>(null, true) },
);

/** Entries with hostile names besides the expected ones: `__proto__`, `constructor`, anything. */
const extraEntries = fc.array(
  fc.tuple(
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype') },
      { weight: 1, arbitrary: hostileString },
    ),
    hostileJson,
  ),
  { maxLength: 2 },
);

function withExtras(entries: fc.Arbitrary<[string, JNode | undefined][]>): fc.Arbitrary<JNode> {
  return fc
    .tuple(entries, extraEntries, fc.boolean())
    .map(([e, extra, extraFirst]) => obj(extraFirst ? [...extra, ...e] : [...e, ...extra]));
}

const contextNode = fc.oneof(
  { weight: 1, arbitrary: hostileObject },
  {
    weight: 4,
    arbitrary: withExtras(
      fc
        .tuple(
          opt(
            fc.oneof(
              httpString.map(str),
              fc.constantFrom(
                str('203.0.113.9'),
                str('fe80::1%eth0'),
                str('::ffff:1.2.3.4'),
                str('1.2.3.4\u0000'),
              ),
            ),
          ),
          opt(httpString.map(str)),
          opt(httpString.map(str)),
          opt(httpString.map(str)),
          opt(fc.oneof(httpString.map(str), atLimit(255).map(str), numberNode)),
          opt(
            withExtras(
              fc
                .tuple(
                  opt(httpString.map(str)),
                  opt(fc.oneof(httpString.map(str), atLimit(500).map(str))),
                  opt(httpString.map((s) => str(`https://shop.example/p?utm_source=${s}&utm_campaign=${s}`))),
                  opt(httpString.map(str)),
                )
                .map(([path, title, url, referrer]): [string, JNode | undefined][] => [
                  ['path', path],
                  ['title', title],
                  ['url', url],
                  ['referrer', referrer],
                ]),
            ),
          ),
          opt(fc.array(fc.tuple(fc.constantFrom('name', 'source', 'medium', 'term', 'content'), scalarNode))),
          opt(fc.array(fc.tuple(fc.constantFrom('id', 'type', 'manufacturer', 'model', 'name'), scalarNode))),
          opt(fc.array(fc.tuple(fc.constantFrom('width', 'height', 'density'), scalarNode))),
          opt(
            fc.array(
              fc.tuple(fc.constantFrom('country', 'region', 'city', 'latitude', 'longitude'), scalarNode),
            ),
          ),
          opt(fc.tuple(fc.oneof(fc.constant(str('analytics.js')), httpString.map(str)), scalarNode)),
          opt(hostileObject),
        )
        .map(
          ([
            ip,
            userAgent,
            locale,
            timezone,
            sessionId,
            page,
            campaign,
            device,
            screen,
            location,
            library,
            traits,
          ]) =>
            [
              ['ip', ip],
              ['userAgent', userAgent],
              ['locale', locale],
              ['timezone', timezone],
              ['sessionId', sessionId],
              ['page', page],
              ['campaign', campaign && obj(campaign)],
              ['device', device && obj(device)],
              ['screen', screen && obj(screen)],
              ['location', location && obj(location)],
              [
                'library',
                library &&
                  obj([
                    ['name', library[0]],
                    ['version', library[1]],
                  ]),
              ],
              ['traits', traits],
            ] as [string, JNode | undefined][],
        ),
    ),
  },
);

/** properties: hostile entries, and sometimes the ones the sink reads (revenue, total, value, name...). */
const propertiesNode = withExtras(
  fc
    .tuple(
      fc.array(fc.tuple(hostileString, hostileJson), { maxLength: 5 }),
      fc.array(
        fc.tuple(
          fc.constantFrom('revenue', 'total', 'value', 'name', 'title', 'url', 'session_id', 'category'),
          scalarNode,
        ),
        { maxLength: 3 },
      ),
    )
    .map(([hostile, known]) => [...hostile, ...known] as [string, JNode | undefined][]),
);

/** Who the message is about: userId and/or anonymousId (null userId as analytics.js sends it), rarely neither. */
const identity = fc.oneof(
  { weight: 12, arbitrary: idNode.map((u): [string, JNode | undefined][] => [['userId', u]]) },
  { weight: 8, arbitrary: idNode.map((a): [string, JNode | undefined][] => [['anonymousId', a]]) },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom<JNode>(null), idNode).map(([u, a]): [string, JNode | undefined][] => [
      ['userId', u],
      ['anonymousId', a],
    ]),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(idNode, idNode).map(([u, a]): [string, JNode | undefined][] => [
      ['userId', u],
      ['anonymousId', a],
    ]),
  },
  { weight: 1, arbitrary: fc.constant<[string, JNode | undefined][]>([]) },
);

/** A duplicate of one of the entries, before or after it: JSON.parse keeps the later one. */
function maybeDuplicate(entries: [string, JNode | undefined][], dup: [number, JNode, boolean] | null) {
  if (!dup) return entries;
  const present = entries.filter((e) => e[1] !== undefined);
  if (present.length === 0) return entries;
  const [i, value, before] = dup;
  const key = present[i % present.length]![0];
  return before
    ? [[key, value] as [string, JNode], ...entries]
    : [...entries, [key, value] as [string, JNode]];
}
const duplicate = fc.oneof(
  { weight: 5, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), scalarNode, fc.boolean()) },
);

type SegmentType = 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';

function message(type: SegmentType, withType: boolean): fc.Arbitrary<JNode> {
  const specific: fc.Arbitrary<[string, JNode | undefined][]> = (() => {
    switch (type) {
      case 'track':
        return fc
          .tuple(
            fc.oneof({ weight: 4, arbitrary: httpNonEmpty.map(str) }, atLimit(200).map(str)),
            opt(propertiesNode),
          )
          .map(([event, properties]): [string, JNode | undefined][] => [
            ['event', event],
            ['properties', properties],
          ]);
      case 'page':
      case 'screen':
        return fc
          .tuple(
            opt(fc.oneof({ weight: 4, arbitrary: httpString.map(str) }, atLimit(200).map(str))),
            opt(httpString.map(str)),
            opt(propertiesNode),
          )
          .map(([name, category, properties]): [string, JNode | undefined][] => [
            ['name', name],
            ['category', category],
            ['properties', properties],
          ]);
      case 'identify':
        return opt(hostileObject).map((traits): [string, JNode | undefined][] => [['traits', traits]]);
      case 'group':
        return fc
          .tuple(idNode, opt(hostileObject))
          .map(([groupId, traits]): [string, JNode | undefined][] => [
            ['groupId', groupId],
            ['traits', traits],
          ]);
      case 'alias':
        return fc
          .tuple(idNode)
          .map(([previousId]): [string, JNode | undefined][] => [['previousId', previousId]]);
    }
  })();
  const who: fc.Arbitrary<[string, JNode | undefined][]> =
    type === 'alias' ? idNode.map((u): [string, JNode | undefined][] => [['userId', u]]) : identity;
  return fc
    .tuple(
      who,
      specific,
      messageIdNode,
      opt(contextNode),
      opt(hostileObject, 5),
      dateNode,
      sentAtNode,
      dateNode,
      duplicate,
      extraEntries,
    )
    .map(([w, s, messageId, context, integrations, timestamp, sentAt, originalTimestamp, dup, extra]) =>
      obj(
        maybeDuplicate(
          [
            ...(withType ? ([['type', str(type)]] as [string, JNode][]) : []),
            ['messageId', messageId],
            ...w,
            ...s,
            ['context', context],
            ['integrations', integrations],
            ['timestamp', timestamp],
            ['sentAt', sentAt],
            ['originalTimestamp', originalTimestamp],
            ...extra,
          ],
          dup,
        ),
      ),
    );
}

const anyMessage = fc.oneof(
  { weight: 3, arbitrary: message('track', true) },
  { weight: 2, arbitrary: message('page', true) },
  { weight: 1, arbitrary: message('screen', true) },
  { weight: 1, arbitrary: message('identify', true) },
  { weight: 1, arbitrary: message('group', true) },
  { weight: 1, arbitrary: message('alias', true) },
);

const batchBody = fc
  .tuple(fc.array(anyMessage, { minLength: 1, maxLength: 4 }), sentAtNode, opt(contextNode))
  .map(([items, sentAt, context]) =>
    obj([
      ['batch', arr(items)],
      ['sentAt', sentAt],
      ['context', context],
    ]),
  );

const money = fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 10_000 }).map(num) }, numberNode);
const orderItem = withExtras(
  fc
    .tuple(idNode, httpString.map(str), money, money, opt(hostileObject))
    .map(([id, name, price, quantity, attributes]): [string, JNode | undefined][] => [
      ['product_id', id],
      ['product_name', name],
      ['unit_price', price],
      ['quantity', quantity],
      ['product_attributes', attributes],
    ]),
);
const order = withExtras(
  fc
    .tuple(
      identity,
      messageIdNode,
      fc.oneof({ weight: 4, arbitrary: httpNonEmpty.map(str) }, atLimit(100).map(str)),
      opt(
        fc.oneof(
          fc.constantFrom('pending', 'confirmed', 'shipped', 'delivered', 'cancelled', 'refunded').map(str),
          httpString.map(str),
        ),
      ),
      opt(money),
      opt(fc.oneof(fc.constant(str('EUR')), httpString.map(str))),
      dateNode,
      opt(httpString.map(str)),
      opt(fc.oneof(fc.uuid().map(str), httpString.map(str))),
      opt(hostileObject),
      opt(fc.array(orderItem, { maxLength: 3 }).map(arr)),
    )
    .map(([who, messageId, orderId, status, total, currency, orderedAt, code, campaign, custom, items]) => [
      ...who,
      ['messageId', messageId],
      ['order_id', orderId],
      ['order_status', status],
      ['order_total', total],
      ['currency', currency],
      ['ordered_at', orderedAt],
      ['promotion_code', code],
      ['campaign_id', campaign],
      ['custom_fields', custom],
      ['items', items],
    ]),
);
const ordersBody = fc.oneof(
  order,
  fc.array(order, { minLength: 1, maxLength: 3 }).map((orders) => obj([['orders', arr(orders)]])),
);

const campaignEvent = withExtras(
  fc
    .tuple(
      fc.oneof({ weight: 4, arbitrary: fc.uuid().map(str) }, httpString.map(str)),
      identity,
      fc.oneof(
        {
          weight: 4,
          arbitrary: fc.constantFrom('sent', 'delivered', 'opened', 'clicked', 'converted').map(str),
        },
        httpString.map(str),
      ),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(str(isoNow(-1000))) },
        dateNode.map((d) => d ?? null),
      ),
      messageIdNode,
      opt(httpString.map(str)),
      opt(httpString.map(str)),
      opt(numberNode),
      opt(httpString.map(str)),
    )
    .map(([campaignId, who, event, timestamp, messageId, variant, url, value, reason]) => [
      ['campaign_id', campaignId],
      ...who,
      ['event', event],
      ['timestamp', timestamp],
      ['messageId', messageId],
      ['variant', variant],
      ['url', url],
      ['value', value],
      ['reason', reason],
    ]),
);
const campaignBody = fc.oneof(
  campaignEvent,
  fc.array(campaignEvent, { minLength: 1, maxLength: 3 }).map((events) => obj([['events', arr(events)]])),
);

const WELL_SHAPED: Record<Kind, fc.Arbitrary<JNode>> = {
  track: message('track', false),
  page: message('page', false),
  screen: message('screen', false),
  identify: message('identify', false),
  group: message('group', false),
  alias: message('alias', false),
  batch: batchBody,
  orders: ordersBody,
  'campaign-events': campaignBody,
};

/** The smallest valid body of each kind, around which deep nesting is placed. */
const SKELETON: Record<Kind, (inner: string) => string> = {
  track: (x) => `{"userId":"u-deep","event":"Deep","messageId":"${MID}","properties":${x}}`,
  page: (x) => `{"anonymousId":"a-deep","messageId":"${MID}","context":${x}}`,
  screen: (x) => `{"userId":"u-deep","messageId":"${MID}","deep":${x}}`,
  identify: (x) => `{"userId":"u-deep","traits":${x}}`,
  group: (x) => `{"userId":"u-deep","groupId":"g","traits":${x}}`,
  alias: (x) => `{"userId":"u-deep","previousId":"p","context":${x}}`,
  batch: (x) =>
    `{"batch":[{"type":"track","userId":"u-deep","event":"Deep","messageId":"${MID}","properties":${x}}]}`,
  orders: (x) => `{"userId":"u-deep","order_id":"o-deep","custom_fields":${x}}`,
  'campaign-events': (x) =>
    `{"events":[{"campaign_id":"7d0c8a3e-1b2c-4d5e-8f90-123456789abc","userId":"u-deep","event":"opened","timestamp":"${isoNow(-1000)}","deep":${x}}]}`,
};

const deepBody = (kind: Kind) =>
  fc
    .tuple(
      fc.constantFrom(62, 63, 64, 65, 66, 100, 1_000, 3_000, 12_000),
      fc.constantFrom<'object' | 'array' | 'mixed'>('object', 'array', 'mixed'),
      fc.boolean(),
    )
    .map(([n, shape, bare]) => (bare ? nestedText(n, shape) : SKELETON[kind](nestedText(n, shape))));

/** Bodies that are not what any route expects. */
const RAW_BODIES: readonly string[] = [
  '',
  ' ',
  'null',
  '[]',
  '"x"',
  '1',
  'true',
  '{',
  '{"a":}',
  "{'userId':'a'}",
  'NaN',
  '\ufeff{"userId":"u","event":"E"}',
  '{"userId":"u","event":"E"} trailing',
  '{"userId":"u","event":"E",}',
  '{"userId":"u","event":"E","properties":{"n":NaN}}',
  '{"userId":"u","event":"E","properties":{"n":Infinity}}',
  `{"userId":"u","event":"E","messageId":"${MID}","properties":{"n":1e309,"m":-0,"k":1e308}}`,
  `{"userId":"u","event":"E","messageId":"${MID}","properties":{"revenue":"1e308"}}`,
  `{"userId":"u","event":"E","messageId":"${MID}","properties":{"revenue":1e308}}`,
  `{"userId":"u","event":"E","messageId":"${MID}","properties":{"revenue":"NaN","total":"-0"}}`,
  `{"__proto__":{"polluted":true},"userId":"u","event":"E","messageId":"${MID}"}`,
  `{"userId":"u","event":"E","messageId":"${MID}","properties":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`,
  `{"userId":"\\u0000","userId":"u","event":"E","messageId":"${MID}"}`,
  `{"userId":"u","event":"E","messageId":"${MID}","messageId":"${MID}\\ud800"}`,
  `{"userId":"u","event":"E","messageId":"${MID}","properties":{"a":"\\\\u0000","b":"\\\\ud800"}}`,
  `{"batch":[]}`,
  `{"batch":{}}`,
  `{"batch":[null,1,"x"]}`,
  `{"orders":[]}`,
  `{"events":"x"}`,
  'x'.repeat(40_000),
];
const rawBody = fc.constantFrom(...RAW_BODIES);

interface Req {
  route: string;
  body: string;
  auth: 'basic' | 'body' | 'query' | 'none' | 'hostile';
  hostileAuth: string;
  contentType: string | null;
  encoding: 'none' | 'gzip' | 'gzip-corrupt' | 'br' | 'GZIP' | 'gzip, identity';
  query: string;
}

const requestFor = (route: string): fc.Arbitrary<Req> => {
  const kind = ROUTE_KINDS[route]!;
  return fc.record({
    route: fc.constant(route),
    body: fc.oneof(
      { weight: 12, arbitrary: WELL_SHAPED[kind].map(jsonText) },
      { weight: 2, arbitrary: deepBody(kind) },
      { weight: 1, arbitrary: rawBody },
    ),
    auth: fc.oneof(
      { weight: 12, arbitrary: fc.constant<'basic'>('basic') },
      { weight: 2, arbitrary: fc.constantFrom<'body' | 'query'>('body', 'query') },
      { weight: 1, arbitrary: fc.constantFrom<'none' | 'hostile'>('none', 'hostile') },
    ),
    hostileAuth: fc.oneof(
      fc.constantFrom('Basic', 'Basic ', 'Basic !!!', 'Bearer x', 'Basic AA==', 'Basic Og=='),
      hostileString.map((s) => `Basic ${Buffer.from(`${s}:`).toString('base64')}`),
    ),
    contentType: fc.oneof(
      { weight: 12, arbitrary: fc.constant('application/json') },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'text/plain;charset=UTF-8',
          'application/json; charset=utf-8',
          'Application/JSON',
          'application/json; charset=utf-16',
          'application/x-www-form-urlencoded',
          'application/csp-report',
        ),
      },
      { weight: 1, arbitrary: fc.constant(null) },
    ),
    encoding: fc.oneof(
      { weight: 12, arbitrary: fc.constant<'none'>('none') },
      { weight: 3, arbitrary: fc.constant<'gzip'>('gzip') },
      {
        weight: 1,
        arbitrary: fc.constantFrom<Req['encoding']>('gzip-corrupt', 'br', 'GZIP', 'gzip, identity'),
      },
    ),
    query: fc.oneof(
      { weight: 12, arbitrary: fc.constant('') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('?x=%00', '?x=%ED%A0%80', '?writeKey=%00', '?writeKey=&writeKey=x'),
      },
    ),
  });
};

// ---------------------------------------------------------------------------------------------
// The stack under test

const kafka = testKafka();
const db = createDb({
  connectionString: config.databaseUrl,
  service: 'fuzz-http',
  registry: createRegistry('fuzz'),
});
const prefix = `${randomName('test-fuzz')}.`;
const eventsTopic = prefix + Topics.events;
/** The topic the sink will consume with TOPIC_PREFIX set, as its configuration resolves it. */
const sinkTopic = loadSinkConfig({ ...process.env, EVENT_SINK_TOPIC: '', TOPIC_PREFIX: prefix }).topic;
const INPUTS = [Topics.events, Topics.identities, Topics.orders, Topics.campaignEvents];
let c: WiredCollector;
let sink: ProcessorProcess;
let dlq: DeadLetterWatch;
/** Topics the collector produced to without the prefix (the records were redirected there). */
const unprefixed = new Set<string>();
const expected: ExpectedEvent[] = [];
// The promises judged separately, so that one broken does not hide the others.
const HALTING = "the contract's halting inputs and the nesting limit";
const NAMES = 'names that are JavaScript object keys, and empty page names';
const FUZZED = 'the fuzzed requests';
const statuses = new Map<string, Map<number, number>>();
let slowest = { ms: 0, label: '' };

t.before(async () => {
  await ensureTopics(kafka, [
    { topic: eventsTopic, partitions: 2 },
    dlqSpec(eventsTopic),
    ...INPUTS.slice(1).map((topic) => ({ topic: prefix + topic, partitions: 1 })),
  ]);
  [c, dlq] = await Promise.all([
    wiredCollector({
      TOPIC_PREFIX: prefix,
      // Nothing here is a dependency failure: no 503 from the overload guards either.
      MAX_EVENT_LOOP_DELAY_MS: '0',
      RATE_LIMIT_PER_SOURCE: '1000000',
    }),
    watchDeadLetters(kafka, new AvroCodec(config.schemaRegistryUrl), dlqTopic(eventsTopic)),
  ]);
  guardTopics(c.producer);
  sink = startSink({
    TOPIC_PREFIX: prefix,
    // Safety net: a sink that ignored TOPIC_PREFIX would read the shared cdp.events from its start.
    ...(sinkTopic === eventsTopic ? {} : { EVENT_SINK_TOPIC: eventsTopic }),
    EVENT_SINK_GROUP: randomName('fuzz-sink'),
    EVENT_SINK_MAX_BATCH: '100',
  });
});
t.teardown(async () => {
  await sink?.stop();
  await dlq?.stop();
  await c?.close();
  await db.end();
});

/**
 * A safety net, not the contract: hostile records must never reach the shared topics (the
 * development sink consumes cdp.events and would halt on them). A record for a topic without the
 * prefix goes to the prefixed topic instead, and the test fails below.
 */
function guardTopics(producer: CollectorProducer): void {
  const sendBatch = producer.sendBatch.bind(producer);
  producer.sendBatch = (batch) =>
    sendBatch({
      ...batch,
      topicMessages: batch.topicMessages.map((tm) => {
        if (tm.topic.startsWith(prefix)) return tm;
        unprefixed.add(tm.topic);
        return { ...tm, topic: prefix + tm.topic };
      }),
    });
}

interface Sent {
  status: number;
  body: string;
  ms: number;
  /** The body as sent, before any gzip. */
  bytes: Buffer;
  /** Sent with the source's write key (header or body). */
  authed: boolean;
}

async function post(req: Req): Promise<Sent> {
  const template = materialise(req.body);
  // writeKey in the body (browsers): first in the object, when the body is one.
  const inBody = req.auth === 'body' && template[0] === 0x7b;
  const bytes = inBody
    ? Buffer.concat([
        Buffer.from(`{"writeKey":${JSON.stringify(c.writeKey)}${template[1] === 0x7d ? '' : ','}`),
        template.subarray(1),
      ])
    : template;
  const headers: Record<string, string> = {};
  if (req.contentType) headers['content-type'] = req.contentType;
  if (req.auth === 'basic') headers.authorization = c.auth.authorization;
  if (req.auth === 'hostile') headers.authorization = req.hostileAuth;
  let payload = bytes;
  if (req.encoding !== 'none') {
    headers['content-encoding'] = req.encoding === 'gzip-corrupt' ? 'gzip' : req.encoding;
    const gz = gzipSync(bytes);
    payload = req.encoding === 'gzip-corrupt' ? gz.subarray(0, Math.max(1, gz.length - 7)) : gz;
  }
  const query = req.auth === 'query' ? `?writeKey=${encodeURIComponent(c.writeKey)}` : req.query;
  const started = performance.now();
  const res = await c.app.inject({ method: 'POST', url: req.route + query, headers, payload });
  const ms = performance.now() - started;
  const perRoute = statuses.get(req.route) ?? new Map<number, number>();
  perRoute.set(res.statusCode, (perRoute.get(res.statusCode) ?? 0) + 1);
  statuses.set(req.route, perRoute);
  if (ms > slowest.ms) slowest = { ms, label: `${req.route} ${show(req.body, 120)}` };
  return { status: res.statusCode, body: res.body, ms, bytes, authed: req.auth === 'basic' || inBody };
}

/** The body as the collector parses it (UTF-8, invalid bytes as U+FFFD), or undefined. */
function parsed(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The track/page/screen events of an accepted body that carry a messageId, as they should land. */
function eventsOf(
  route: string,
  body: unknown,
  label: string,
  group: string,
  mustLand = false,
): ExpectedEvent[] {
  const kind = ROUTE_KINDS[route]!;
  if (!isObject(body)) return [];
  const messages: [string, unknown][] =
    kind === 'batch'
      ? (Array.isArray(body.batch) ? body.batch : []).map((m: unknown) => [
          isObject(m) ? String(m.type) : '',
          m,
        ])
      : [[kind, body]];
  const out: ExpectedEvent[] = [];
  for (const [type, m] of messages) {
    // Only ids with this run's tag are ours alone: another run (same seed) sent the untagged ones too.
    if (!EVENT_KINDS.has(type) || !isObject(m) || typeof m.messageId !== 'string') continue;
    if (!m.messageId.includes(`f${RUN_TAG}`)) continue;
    // userId, else anonymousId; null and "" both mean absent.
    const externalId = typeof m.userId === 'string' && m.userId !== '' ? m.userId : m.anonymousId;
    const ctx = isObject(m.context) ? m.context : {};
    const named = type === 'track' ? m.event : m.name;
    out.push({
      label,
      group,
      mustLand,
      messageId: normalised(m.messageId),
      externalId: typeof externalId === 'string' ? normalised(externalId) : undefined,
      eventName: typeof named === 'string' && normalised(named) !== '' ? asColumn(named, 200)! : undefined,
      properties: canonicalJson(isObject(m.properties) ? m.properties : {}),
      sessionId: typeof ctx.sessionId === 'string' ? asColumn(ctx.sessionId, 255) : undefined,
    });
  }
  return out;
}

/** An ordinary request: the source's key in the header, JSON, no encoding. */
const plain: Omit<Req, 'route' | 'body'> = {
  auth: 'basic',
  hostileAuth: '',
  contentType: 'application/json',
  encoding: 'none',
  query: '',
};

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');
const PROTOTYPE_KEYS = prototypeKeys();

// ---------------------------------------------------------------------------------------------

let routes: string[] = [];

t.test('the OpenAPI document: every POST route has a generator here', async (t) => {
  const res = await c.app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  const doc = res.json() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(doc.paths)
    .filter(([, ops]) => 'post' in ops)
    .map(([path]) => path);
  t.ok(routes.length >= 9, `the document lists ${routes.length} POST routes: ${routes.join(' ')}`);
  for (const route of routes) t.ok(ROUTE_KINDS[route], `a generator for ${route}`);
  for (const kind of new Set(Object.values(ROUTE_KINDS)))
    t.ok(
      routes.some((r) => ROUTE_KINDS[r] === kind),
      `the document lists a ${kind} route`,
    );
  routes = routes.filter((r) => ROUTE_KINDS[r]);
});

t.test('the three halting inputs are normalised; deep bodies are a 400 naming the field', async (t) => {
  const send = async (route: string, body: string, mustLand: boolean) => {
    const res = await post({ ...plain, route, body });
    if (res.status === 200)
      expected.push(...eventsOf(route, parsed(res.bytes), `${route} ${show(body, 200)}`, HALTING, mustLand));
    return res;
  };
  const nul = await send('/v1/track', `{"userId":"a\\u0000b","event":"E","messageId":"${MID}"}`, true);
  t.equal(nul.status, 200, `NUL in userId: ${nul.body}`);
  const lone = await send(
    '/v1/track',
    `{"userId":"u-lone","event":"E","messageId":"${MID}","properties":{"k\\ud800":"\\udfff"}}`,
    true,
  );
  t.equal(lone.status, 200, `lone surrogates in a property key and value: ${lone.body}`);
  const nulProp = await send(
    '/v1/track',
    `{"userId":"u-nul","event":"E","messageId":"${MID}","properties":{"a":"b\\u0000c"}}`,
    true,
  );
  t.equal(nulProp.status, 200, `NUL in a property value: ${nulProp.body}`);

  // Nesting only (the properties are an object either way); the last one used to overflow the stack (500).
  for (const [what, route, body] of [
    [
      '3000 levels of objects',
      '/v1/track',
      `{"userId":"u","event":"E","properties":${nestedText(3_000, 'object')}}`,
    ],
    [
      '3000 levels of arrays',
      '/v1/track',
      `{"userId":"u","event":"E","properties":{"a":${nestedText(3_000, 'array')}}}`,
    ],
    [
      '20000 levels of arrays in a batch',
      '/v1/batch',
      `{"batch":[{"type":"track","userId":"u","event":"E","properties":{"a":${nestedText(20_000, 'array')}}}]}`,
    ],
  ] as const) {
    const res = await send(route, body, false);
    t.equal(res.status, 400, `${what}: ${res.body.slice(0, 200)}`);
    const errors = (JSON.parse(res.body) as { errors?: { field?: unknown; message?: unknown }[] }).errors;
    t.ok(
      Array.isArray(errors) &&
        errors.length > 0 &&
        errors.every((e) => typeof e.field === 'string' && typeof e.message === 'string'),
      'errors: [{field, message}]',
    );
  }
  // The limit itself: 64 levels counting the body (properties nested 63 deep) pass, 65 do not.
  for (const [levels, want] of [
    [MAX_DEPTH, 200],
    [MAX_DEPTH + 1, 400],
  ] as const) {
    const body = `{"userId":"u-depth","event":"Depth","messageId":"${MID}","properties":${nestedText(levels - 1, 'mixed')}}`;
    t.equal(nestingDepth(JSON.parse(body)), levels);
    const res = await send('/v1/track', body, want === 200);
    t.equal(res.status, want, `a body nested ${levels} levels: ${res.body.slice(0, 200)}`);
  }
});

t.test(
  'event names that are JavaScript object keys land; a page with an empty name is refused or lands',
  async (t) => {
    // An event type looked up by name in a plain object finds Object.prototype's members.
    for (const event of ['constructor', '__proto__', 'toString', 'hasOwnProperty', ' valueOf ']) {
      const body = `{"userId":"u-names","event":${JSON.stringify(event)},"messageId":"${MID}"}`;
      const res = await post({ ...plain, route: '/v1/track', body });
      t.equal(res.status, 200, `a track named ${JSON.stringify(event)}: ${res.body}`);
      if (res.status === 200)
        expected.push(...eventsOf('/v1/track', parsed(res.bytes), `/v1/track ${show(body)}`, NAMES, true));
    }
    // Refused at the door or stored, either is honest; answered 200 and then dead-lettered is not.
    for (const route of ['/v1/page', '/v1/screen']) {
      const body = `{"anonymousId":"a-names","name":"","messageId":"${MID}"}`;
      const res = await post({ ...plain, route, body });
      t.ok(
        res.status === 200 || res.status === 400,
        `${route} with an empty name: ${res.status} ${res.body}`,
      );
      if (res.status === 200)
        expected.push(...eventsOf(route, parsed(res.bytes), `${route} ${show(body)}`, NAMES, true));
    }
  },
);

t.test(`fuzz every route (${RUNS} requests, seed ${FUZZ_SEED}): no 5xx, nesting limit kept`, async (t) => {
  const accepted = new Map<string, number>();
  const rejected = new Map<string, number>();
  const property = fc.asyncProperty(fc.constantFrom(...routes).chain(requestFor), async (req) => {
    const res = await post(req);
    const label = `${req.route} (${req.auth}, ${req.contentType}, ${req.encoding}) ${show(req.body, 300)}`;
    if (res.status >= 500) throw new Error(`${res.status} ${res.body.slice(0, 300)}`);
    if (prototypeKeys() !== PROTOTYPE_KEYS || ({} as Record<string, unknown>).polluted !== undefined)
      throw new Error('Object.prototype was polluted');
    const body = parsed(res.bytes);
    const clean =
      res.authed &&
      (req.encoding === 'none' || req.encoding === 'gzip') &&
      req.contentType !== null &&
      /json|text\/plain/i.test(req.contentType) &&
      !/utf-16|csp/.test(req.contentType) &&
      req.query === '' &&
      res.bytes.length <= (BATCH_SIZED.has(ROUTE_KINDS[req.route]!) ? 500 * 1024 : 32 * 1024);
    if (body !== undefined && clean && nestingDepth(body) > MAX_DEPTH) {
      if (res.status !== 400) throw new Error(`nested ${nestingDepth(body)} deep, answered ${res.status}`);
      const errors = (JSON.parse(res.body) as { errors?: { field?: unknown; message?: unknown }[] }).errors;
      if (
        !Array.isArray(errors) ||
        !errors.every((e) => typeof e.field === 'string' && typeof e.message === 'string')
      )
        throw new Error(`nested too deep, but the 400 does not name the field: ${res.body.slice(0, 300)}`);
    }
    if (res.status === 400 && res.body.includes('"errors"')) {
      const errors = (JSON.parse(res.body) as { errors: { field?: unknown; message?: unknown }[] }).errors;
      if (!errors.every((e) => typeof e.field === 'string' && typeof e.message === 'string'))
        throw new Error(`a 400 whose errors are not {field, message}: ${res.body.slice(0, 300)}`);
    }
    if (res.status === 400) {
      const why = JSON.parse(res.body) as {
        message?: string;
        errors?: { field?: string; message?: string }[];
      };
      for (const e of why.errors ?? [{ field: '', message: why.message }]) {
        const k = `${String(e.field).replace(/\[\d+\]/g, '[]')}: ${String(e.message).slice(0, 50)}`;
        rejected.set(k, (rejected.get(k) ?? 0) + 1);
      }
    }
    if (res.status === 200) {
      accepted.set(req.route, (accepted.get(req.route) ?? 0) + 1);
      expected.push(...eventsOf(req.route, body, label, FUZZED));
    }
  });
  try {
    await fc.assert(property, { seed: FUZZ_SEED, numRuns: RUNS });
    t.pass(`${RUNS} requests, no 5xx`);
  } catch (err) {
    const e = err as Error;
    t.fail(`${seedNote}: ${e.message}\n${e.cause instanceof Error ? e.cause.message : String(e.cause)}`);
  }
  for (const route of routes) t.ok((accepted.get(route) ?? 0) > 0, `${route} accepted some fuzzed bodies`);
  t.comment(
    `statuses: ${[...statuses].map(([r, s]) => `${r} ${[...s].map(([k, v]) => `${k}x${v}`).join(' ')}`).join('; ')}`,
  );
  t.comment(
    `most frequent 400s: ${[...rejected]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, n]) => `${n}x ${k}`)
      .join(' | ')}`,
  );
  t.comment(`slowest request ${slowest.ms.toFixed(0)} ms: ${slowest.label}`);
});

t.test(
  'every accepted event lands normalised or is dead-lettered with a reason; the sink keeps running',
  async (t) => {
    const canaryId = randomUUID();
    const canary = await c.app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: c.auth,
      payload: { userId: randomName('canary'), event: 'Canary', messageId: canaryId },
    });
    t.equal(canary.statusCode, 200, 'the canary is accepted');
    t.equal(
      (await c.app.inject({ method: 'GET', url: '/healthz' })).statusCode,
      200,
      'the collector is healthy',
    );
    expected.push({
      label: 'the canary',
      group: 'the canary',
      messageId: canaryId,
      mustLand: true,
      eventName: 'Canary',
    });
    t.same([...unprefixed], [], `the collector produced only to ${prefix}* topics (TOPIC_PREFIX)`);
    t.equal(sinkTopic, eventsTopic, 'the sink consumes <TOPIC_PREFIX>cdp.events');

    const ids = expected.map((e) => e.messageId);
    const byId = () => {
      const m = new Map<string, typeof dlq.letters>();
      for (const l of dlq.letters) {
        const id = l.original?.messageId;
        if (typeof id === 'string') m.set(normalised(id), [...(m.get(normalised(id)) ?? []), l]);
      }
      return m;
    };
    let rows = await storedEvents(db, ids);
    await waitFor(
      `each of ${expected.length} accepted events in customer_events or ${dlqTopic(eventsTopic)}`,
      async () => {
        if (sink.exited()) return true;
        rows = await storedEvents(db, ids);
        const letters = byId();
        return expected.every((e) => rows.has(e.messageId) || letters.has(e.messageId));
      },
      45_000,
      250,
    ).catch((err: Error) => t.comment(err.message));
    rows = await storedEvents(db, ids);
    const letters = byId();

    const exit = sink.exited();
    t.notOk(
      exit,
      `the sink process is still running${exit ? ` (exited ${JSON.stringify(exit)}):\n${sink.lastLines()}` : ''}`,
    );
    t.ok(rows.has(canaryId), 'the canary sent after everything landed');
    t.same(dlq.broken, [], 'every record on the dead-letter topic is a decodable envelope');
    let failed = false;
    for (const [group, events] of byGroup(expected, 'the canary')) {
      const verdict = judge(events, rows, (e) => letters.get(e.messageId) ?? []);
      t.equal(
        verdict.failures.length,
        0,
        `${group}: each of ${events.length} accepted events stored once as normalised (${verdict.landed}) ` +
          `or dead-lettered with a reason (${verdict.deadLettered}: ` +
          `${[...verdict.reasons].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}) (${seedNote})`,
      );
      for (const f of verdict.failures.slice(0, 20)) t.comment(f);
      if (verdict.failures.length > 20) t.comment(`... and ${verdict.failures.length - 20} more`);
      failed ||= verdict.failures.length > 0;
    }
    // What the database refused or the mapping could not handle, of everything accepted.
    for (const l of dlq.letters
      .filter((l) => !/^(future-timestamp|impossible-value)$/.test(l.reason))
      .slice(0, 10))
      t.comment(
        `dead letter (${l.reason}): ${show(l.errors.join('; '), 200)} <- ${show(l.original ?? l.payload?.toString('utf8'), 300)}`,
      );
    if (failed || exit) t.comment(`sink's last lines:\n${sink.lastLines()}`);
  },
);
