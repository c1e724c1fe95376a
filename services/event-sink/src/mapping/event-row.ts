import { isIP } from 'node:net';
import { dedupIdsOf, idOf, idTooLong } from '../../../shared/src/ids.js';
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import type { EventRecord } from './event-record.js';
import { eventCategoryOf, eventTypeOf } from './event-type.js';
import { checkTime, correctedTime, type TimeLimits } from '../../../shared/src/time/occurred-at.js';
import { parseUserAgent } from './user-agent.js';
import {
  jsonTextNeedsNormalizing,
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  storableJson,
  storableString,
} from '../../../shared/src/text/storable.js';
import { truncateCodePoints } from '../../../shared/src/text/code-points.js';

/** One customer_events row, before the customer is resolved. Column order is COPY's order. */
export interface EventRow {
  externalId: string;
  identityType: 'user_id' | 'anonymous_id';
  sourceKey: string;
  messageId: string;
  eventType: string;
  eventCategory: string;
  eventName: string;
  eventProperties: string;
  eventValue: string | null;
  sessionId: string | null;
  pageUrl: string | null;
  pageTitle: string | null;
  referrerUrl: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  deviceType: string | null;
  browser: string | null;
  os: string | null;
  screenResolution: string | null;
  country: string | null;
  city: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  occurredAt: Date;
  dataSource: string;
  sourceSystem: string | null;
}

// DECIMAL(10,2): anything at or beyond 1e8 in magnitude cannot be stored.
const MAX_EVENT_VALUE = 99_999_999.99;

/** A customer_events row and the columns whose values were cut to fit (counted by the sink). */
export interface MappedEvent {
  row: EventRow;
  truncated: string[];
}

/** A value made storable and cut to its column's VARCHAR(n), in characters; a cut is noted. */
function fit(truncated: string[], column: string, v: string | null | undefined, n: number): string | null {
  if (v == null || v === '') return null;
  const s = storableString(v);
  const out = truncateCodePoints(s, n);
  if (out !== s) truncated.push(column);
  return out;
}

export function mapEventRow(e: EventRecord, limits: TimeLimits): Result<MappedEvent> {
  const truncated: string[] = [];
  const cut = (column: string, v: string | null | undefined, n: number) => fit(truncated, column, v, n);

  // Ids follow the shared rules (services/shared/src/ids.ts): never cut, too long is a dead letter.
  const externalId = idOf(e.userId) ?? idOf(e.anonymousId);
  if (!externalId) return dlq('schema-invalid', 'neither userId nor anonymousId is set');
  const idTooLongLetter = idTooLong('customer id', externalId);
  if (idTooLongLetter) return idTooLongLetter;
  const dedupIds = dedupIdsOf(e.messageId, e.sourceId);
  if (!dedupIds.ok) return dedupIds;
  const { messageId, sourceKey } = dedupIds.value;
  const sourceId = idOf(e.sourceId);

  let properties: unknown;
  try {
    properties = JSON.parse(e.propertiesJson);
  } catch {
    return dlq('schema-invalid', 'propertiesJson is not JSON');
  }
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    return dlq('schema-invalid', 'propertiesJson is not a JSON object');
  }
  const deepAt = jsonTooDeepAt(properties);
  if (deepAt !== null)
    return dlq('too-deep', `properties nest deeper than ${MAX_JSON_DEPTH} levels at ${deepAt}`);
  const props = properties as Record<string, unknown>;

  const occurredAt = correctedTime(e.timestamp, e.sentAt, e.receivedAt);
  const time = checkTime(occurredAt, e.receivedAt, limits);
  if (!time.ok) return dlq(time.reason, time.error);

  const value = firstNumber(props.revenue, props.total, props.value);
  if (value !== null && Math.abs(value) > MAX_EVENT_VALUE)
    return dlq('impossible-value', `event value ${value} does not fit DECIMAL(10,2)`);

  const ctx = e.context;
  const page = ctx.page;
  const utm = { ...utmFromUrl(page?.url ?? null), ...definedOnly(ctx.campaign) };
  const agent = parseUserAgent(ctx.userAgent);
  const name = e.event ? storableString(e.event) : null;
  const eventType = eventTypeOf(e.type, name);
  // PostgreSQL's inet takes no IPv6 zone index (fe80::1%eth0).
  const rawIp = ctx.ip?.split('%')[0] ?? null;
  const ip = rawIp && isIP(rawIp) ? rawIp : null;
  const screen = ctx.screen?.width && ctx.screen?.height ? `${ctx.screen.width}x${ctx.screen.height}` : null;

  const row: EventRow = {
    externalId,
    identityType: idOf(e.userId) ? 'user_id' : 'anonymous_id',
    sourceKey,
    messageId,
    eventType: cut('event_type', eventType, 100)!,
    eventCategory: eventCategoryOf(eventType),
    eventName: cut(
      'event_name',
      // `||`: an empty name is no name (event_name is NOT NULL).
      name ||
        e.name ||
        (e.type === 'PAGE' ? 'Page Viewed' : e.type === 'SCREEN' ? 'Screen Viewed' : 'unnamed'),
      200,
    )!,
    eventProperties: jsonTextNeedsNormalizing(e.propertiesJson)
      ? JSON.stringify(storableJson(props))
      : e.propertiesJson,
    eventValue: value === null ? null : value.toFixed(2),
    sessionId: cut('session_id', ctx.sessionId, 255),
    pageUrl: cut('page_url', page?.url, 100_000),
    pageTitle: cut('page_title', page?.title, 500),
    referrerUrl: cut('referrer_url', page?.referrer, 100_000),
    ipAddress: ip,
    userAgent: cut('user_agent', ctx.userAgent, 10_000),
    deviceType: cut('device_type', deviceTypeOf(ctx.device?.type ?? null) ?? agent.deviceType, 50),
    browser: cut('browser', agent.browser, 100),
    os: cut('os', ctx.os?.name ?? agent.os, 100),
    screenResolution: cut('screen_resolution', screen, 20),
    country: cut('country', ctx.location?.country, 50),
    city: cut('city', ctx.location?.city, 100),
    utmSource: cut('utm_source', utm.source, 100),
    utmMedium: cut('utm_medium', utm.medium, 100),
    utmCampaign: cut('utm_campaign', utm.name, 100),
    utmTerm: cut('utm_term', utm.term, 100),
    utmContent: cut('utm_content', utm.content, 100),
    occurredAt: new Date(occurredAt),
    dataSource: sourceId ? 'api' : 'kafka',
    sourceSystem: sourceId,
  };
  return ok({ row, truncated });
}

function firstNumber(...values: unknown[]): number | null {
  for (const v of values) {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  }
  return null;
}

/** Mobile SDKs send context.device.type as the platform ('ios', 'android'); the seed wants a kind. */
function deviceTypeOf(type: string | null): string | null {
  if (!type) return null;
  const t = type.toLowerCase();
  if (t === 'ios' || t === 'android') return 'mobile';
  return t;
}

type Utm = { name?: string; source?: string; medium?: string; term?: string; content?: string };

/** UTM parameters from the page URL, for clients that do not fill context.campaign. */
export function utmFromUrl(url: string | null): Utm {
  if (!url || !url.includes('utm_')) return {};
  try {
    const q = new URL(url).searchParams;
    const out: Utm = {};
    const name = q.get('utm_campaign');
    if (name) out.name = name;
    for (const k of ['source', 'medium', 'term', 'content'] as const) {
      const v = q.get(`utm_${k}`);
      if (v) out[k] = v;
    }
    return out;
  } catch {
    return {};
  }
}

function definedOnly(o: Record<string, string | null> | null): Utm {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v) out[k] = v;
  return out as Utm;
}
