import { createHash } from 'node:crypto';

/** What the collector knows about a request, stamped on every record it produces. */
export interface RequestMeta {
  receivedAt: number;
  sourceId: string;
  /** The client address as Fastify resolved it (proxy headers only when trusted). */
  ip: string | undefined;
  /** The request's own User-Agent, used only for browser requests whose context carries none. */
  userAgent: string | undefined;
  /** A batch-level sentAt, for items that carry none of their own. */
  sentAt?: string | undefined;
}

export type Json = Record<string, unknown>;

export const asString = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : null;

export const asNumber = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
};

export const asObject = (v: unknown): Json | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;

/** ISO-8601 to epoch ms; null when absent (schemas already rejected malformed ones). */
export const toMillis = (v: unknown): number | null => {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
};

/**
 * An id field (userId, anonymousId, previousId, groupId): a non-empty string, else absent.
 * analytics.js sends `"userId": null` for anonymous visitors and RudderStack's JS SDK `"userId": ""`;
 * both mean "no user id", never a customer whose id is the empty string.
 */
export const asId = (v: unknown): string | null => {
  const s = asString(v);
  return s === '' ? null : s;
};

/** The customer's external id, which is also the Kafka key: userId, else anonymousId. */
export const customerKey = (m: Json): string | null => asId(m.userId) ?? asId(m.anonymousId);

/**
 * A message without a messageId gets one derived from its source and content, not a random one:
 * a client that retries the same payload then produces the same id, and the duplicate is dropped
 * downstream instead of counted twice. (Segment's SDKs always send one.)
 */
export function messageIdFor(m: Json, sourceId: string): string {
  const given = asString(m.messageId);
  if (given) return given;
  return (
    'cdp-' +
    createHash('sha256').update(sourceId).update('\0').update(JSON.stringify(m)).digest('hex').slice(0, 40)
  );
}

export function timesFor(
  m: Json,
  meta: RequestMeta,
): { timestamp: number; sentAt: number | null; receivedAt: number } {
  return {
    timestamp: toMillis(m.timestamp) ?? toMillis(m.originalTimestamp) ?? meta.receivedAt,
    sentAt: toMillis(m.sentAt) ?? toMillis(meta.sentAt),
    receivedAt: meta.receivedAt,
  };
}
