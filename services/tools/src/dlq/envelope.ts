/**
 * The dead-letter envelope (schemas/dead-letter.avsc) as the tool sees it, where a dead letter sits
 * in its `<topic>.dlq`, and what can be said about its payload without printing personal data.
 */
import { codePointLength, truncateCodePoints } from '../../../shared/src/text/code-points.js';

export interface DeadLetter {
  originalTopic: string;
  partition: number;
  offset: number;
  /** The original record's Kafka timestamp, epoch ms. */
  timestamp: number | null;
  key: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
  payload: Buffer | null;
  reason: string;
  errors: string[];
  attempts: number;
  service: string;
  /** Epoch ms. */
  failedAt: number;
}

/** A record of a dead-letter topic: its envelope, or why the envelope itself cannot be read. */
export type DlqEntry =
  { position: Position; letter: DeadLetter } | { position: Position; unreadable: string };

/** Where a record is in a dead-letter topic. */
export interface Position {
  partition: number;
  offset: number;
}

/**
 * How positions are written: the offset alone on partition 0 (a dead-letter topic has one
 * partition), `<partition>:<offset>` elsewhere. `parsePosition` reads both.
 */
export const formatPosition = (p: Position): string =>
  p.partition === 0 ? String(p.offset) : `${p.partition}:${p.offset}`;

export function parsePosition(raw: string): Position | undefined {
  const m = /^(?:(\d{1,5}):)?(\d{1,15})$/.exec(raw.trim());
  if (!m) return undefined;
  return { partition: m[1] === undefined ? 0 : Number(m[1]), offset: Number(m[2]) };
}

export const samePosition = (a: Position, b: Position): boolean =>
  a.partition === b.partition && a.offset === b.offset;

const millis = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));
const bytes = (v: unknown): Buffer | null => (v == null ? null : Buffer.from(v as Uint8Array));

/** The decoded envelope with its types made plain (avsc may hand out Dates, longs, Uint8Arrays). */
export function toDeadLetter(decoded: unknown): DeadLetter {
  const d = decoded as Record<string, unknown>;
  if (typeof d?.originalTopic !== 'string' || typeof d.reason !== 'string')
    throw new Error('not a dead-letter envelope (no originalTopic or reason)');
  return {
    originalTopic: d.originalTopic,
    partition: Number(d.partition),
    offset: Number(d.offset),
    timestamp: d.timestamp == null ? null : millis(d.timestamp),
    key: bytes(d.key),
    headers: ((d.headers as { key: string; value: unknown }[] | undefined) ?? []).map((h) => ({
      key: String(h.key),
      value: bytes(h.value),
    })),
    payload: bytes(d.payload),
    reason: d.reason,
    errors: ((d.errors as unknown[] | undefined) ?? []).map(String),
    attempts: Number(d.attempts ?? 1),
    service: String(d.service ?? ''),
    failedAt: millis(d.failedAt),
  };
}

/**
 * The Confluent wire format's header: magic byte 0, then the schema id (4 bytes, big-endian),
 * then the Avro body. Either the schema id, or why these bytes are not in that format.
 */
export function wireHeader(payload: Buffer | null): { schemaId: number } | { problem: string } {
  if (payload === null) return { problem: 'no payload (a tombstone)' };
  if (payload.length === 0) return { problem: 'an empty payload' };
  if (payload[0] !== 0)
    return {
      problem: `not the Confluent wire format: the first byte is 0x${payload[0]!.toString(16).padStart(2, '0')}, not the magic byte 0`,
    };
  if (payload.length < 5) return { problem: `not the Confluent wire format: ${payload.length} bytes` };
  return { schemaId: payload.readInt32BE(1) };
}

/**
 * Fields of the input topics' records that say what a record is without saying who it is about:
 * record kinds, event names, ids of orders and campaigns, the messageId. Never user ids,
 * properties, traits or context.
 */
const SUMMARY_FIELDS = ['type', 'event', 'name', 'order_id', 'order_status', 'campaign_id'] as const;

/** A short, personal-data-free description of a decoded input record. */
export function summarizeRecord(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  const v = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const field of SUMMARY_FIELDS) {
    const x = v[field];
    if (typeof x !== 'string' || x === '') continue;
    parts.push(field === 'type' || field === 'event' ? quoteIfSpaced(x) : `${field}=${quoteIfSpaced(x)}`);
  }
  if (typeof v.messageId === 'string') parts.push(`messageId=${cut(v.messageId, 40)}`);
  return parts.length > 0 ? parts.join(' ') : 'a record without the usual fields';
}

const quoteIfSpaced = (s: string): string => {
  const short = cut(s, 40);
  return /[\s"]/.test(short) ? JSON.stringify(short) : short;
};

/** One line, at most `max` characters (an ellipsis marks the cut). */
export function cut(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return codePointLength(line) <= max ? line : `${truncateCodePoints(line, Math.max(0, max - 1))}…`;
}
