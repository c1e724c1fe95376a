import { isIP } from 'node:net';
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import type { EventRecord } from './event-record.js';
import { eventCategoryOf, eventTypeOf } from './event-type.js';
import { checkTime, correctedTime, type TimeLimits } from './occurred-at.js';
import { parseUserAgent } from './user-agent.js';

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

/** The varchar limits of customer_events; longer context values are cut rather than lost with the row. */
const cut = (v: string | null | undefined, n: number): string | null =>
  v == null || v === '' ? null : clean(v).slice(0, n);

/** PostgreSQL text cannot hold NUL; hostile or broken clients send it. */
const clean = (s: string): string => (s.includes('\u0000') ? s.replaceAll('\u0000', '') : s);

export function mapEventRow(e: EventRecord, limits: TimeLimits): Result<EventRow> {
  const externalId = e.userId ?? e.anonymousId;
  if (!externalId) return dlq('schema-invalid', 'neither userId nor anonymousId is set');
  if (externalId.length > 100) return dlq('impossible-value', 'customer id is longer than 100 characters');
  if (!e.messageId || e.messageId.length > 255)
    return dlq('schema-invalid', 'messageId is empty or longer than 255 characters');

  let properties: unknown;
  try {
    properties = JSON.parse(e.propertiesJson);
  } catch {
    return dlq('schema-invalid', 'propertiesJson is not JSON');
  }
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    return dlq('schema-invalid', 'propertiesJson is not a JSON object');
  }
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
  const eventType = eventTypeOf(e.type, e.event);
  // PostgreSQL's inet takes no IPv6 zone index (fe80::1%eth0).
  const rawIp = ctx.ip?.split('%')[0] ?? null;
  const ip = rawIp && isIP(rawIp) ? rawIp : null;
  const screen = ctx.screen?.width && ctx.screen?.height ? `${ctx.screen.width}x${ctx.screen.height}` : null;

  return ok({
    externalId,
    identityType: e.userId ? 'user_id' : 'anonymous_id',
    sourceKey: e.sourceId ?? 'kafka',
    messageId: e.messageId,
    eventType: cut(eventType, 100)!,
    eventCategory: eventCategoryOf(eventType),
    eventName: cut(
      e.event ??
        e.name ??
        (e.type === 'PAGE' ? 'Page Viewed' : e.type === 'SCREEN' ? 'Screen Viewed' : 'unnamed'),
      200,
    )!,
    eventProperties: clean(e.propertiesJson).replace(/\\u0000/g, ''),
    eventValue: value === null ? null : value.toFixed(2),
    sessionId: cut(ctx.sessionId, 255),
    pageUrl: cut(page?.url, 100_000),
    pageTitle: cut(page?.title, 500),
    referrerUrl: cut(page?.referrer, 100_000),
    ipAddress: ip,
    userAgent: cut(ctx.userAgent, 10_000),
    deviceType: cut(deviceTypeOf(ctx.device?.type ?? null) ?? agent.deviceType, 50),
    browser: cut(agent.browser, 100),
    os: cut(ctx.os?.name ?? agent.os, 100),
    screenResolution: cut(screen, 20),
    country: cut(ctx.location?.country, 50),
    city: cut(ctx.location?.city, 100),
    utmSource: cut(utm.source, 100),
    utmMedium: cut(utm.medium, 100),
    utmCampaign: cut(utm.name, 100),
    utmTerm: cut(utm.term, 100),
    utmContent: cut(utm.content, 100),
    occurredAt: new Date(occurredAt),
    dataSource: e.sourceId ? 'api' : 'kafka',
    sourceSystem: cut(e.sourceId, 100),
  });
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
