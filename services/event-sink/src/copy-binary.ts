import { isIPv4 } from 'node:net';
import type { EventRow } from './mapping/event-row.js';
import { COPY_COLUMNS } from './copy-text.js';

export const COPY_BINARY_SQL = `COPY customer_events (${COPY_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT binary)`;

/** PGCOPY signature, flags, header extension length. */
export const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** The file trailer: a tuple with field count -1. */
export const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/**
 * Writes tuples in PostgreSQL's binary COPY format into one growing buffer, so a batch costs a
 * handful of allocations rather than one per field.
 */
class TupleWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  int16(v: number): void {
    this.room(2);
    this.buf.writeInt16BE(v, this.at);
    this.at += 2;
  }

  null(): void {
    this.room(4);
    this.buf.writeInt32BE(-1, this.at);
    this.at += 4;
  }

  text(v: string | null, prefix?: number): void {
    if (v === null) return this.null();
    const max = Buffer.byteLength(v, 'utf8') + (prefix === undefined ? 0 : 1);
    this.room(4 + max);
    const lengthAt = this.at;
    this.at += 4;
    if (prefix !== undefined) this.buf[this.at++] = prefix;
    this.at += this.buf.write(v, this.at, 'utf8');
    this.buf.writeInt32BE(this.at - lengthAt - 4, lengthAt);
  }

  bytes(b: Buffer): void {
    this.room(4 + b.length);
    this.buf.writeInt32BE(b.length, this.at);
    b.copy(this.buf, this.at + 4);
    this.at += 4 + b.length;
  }

  uuid(v: string): void {
    this.bytes(Buffer.from(v.replace(/-/g, ''), 'hex'));
  }

  timestamptz(d: Date): void {
    this.room(12);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeBigInt64BE(BigInt(d.getTime() - PG_EPOCH_MS) * 1000n, this.at + 4);
    this.at += 12;
  }

  numeric(v: string | null): void {
    if (v === null) return this.null();
    this.bytes(numericBinary(v));
  }

  inet(v: string | null): void {
    if (v === null) return this.null();
    this.bytes(inetBinary(v));
  }

  take(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/**
 * A decimal string with at most two fraction digits ("-1234.50") in numeric's binary form:
 * ndigits, weight, sign, dscale, then base-10000 digits.
 */
export function numericBinary(value: string): Buffer {
  const negative = value.startsWith('-');
  const [intPart = '0', fracPart = ''] = (negative ? value.slice(1) : value).split('.');
  const dscale = fracPart.length;
  const intDigits = intPart.replace(/^0+/, '');
  const padded = intDigits.padStart(Math.ceil(intDigits.length / 4) * 4, '0');
  const groups: number[] = [];
  for (let i = 0; i < padded.length; i += 4) groups.push(Number(padded.slice(i, i + 4)));
  let weight = groups.length - 1;
  const frac = fracPart.padEnd(Math.ceil(fracPart.length / 4) * 4, '0');
  for (let i = 0; i < frac.length; i += 4) groups.push(Number(frac.slice(i, i + 4)));
  while (groups.length > 0 && groups[0] === 0) {
    groups.shift();
    weight--;
  }
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  if (groups.length === 0) weight = 0;
  const out = Buffer.alloc(8 + groups.length * 2);
  out.writeInt16BE(groups.length, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(negative && groups.length > 0 ? 0x4000 : 0, 4);
  out.writeInt16BE(dscale, 6);
  groups.forEach((g, i) => out.writeInt16BE(g, 8 + i * 2));
  return out;
}

/** inet's binary form: family (2 = IPv4, 3 = IPv6), prefix bits, is_cidr, length, address. */
export function inetBinary(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from([2, 32, 0, 4, ...ip.split('.').map(Number)]);
  return Buffer.concat([Buffer.from([3, 128, 0, 16]), ipv6Bytes(ip)]);
}

function ipv6Bytes(ip: string): Buffer {
  let text = ip;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes its two hex groups.
  const v4 = text.match(/^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) {
    const [a, b, c, d] = v4.slice(2).map(Number) as [number, number, number, number];
    text = `${v4[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const [head = '', tail] = text.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** The binary COPY stream for a batch: header, one tuple per row, trailer. */
export function copyBinary(rows: readonly { row: EventRow; customerId: string }[]): Buffer[] {
  const w = new TupleWriter();
  for (const { row, customerId } of rows) {
    w.int16(COPY_COLUMNS.length);
    w.uuid(customerId);
    w.text(row.eventType);
    w.text(row.eventCategory);
    w.text(row.eventName);
    w.text(row.eventProperties, 1); // jsonb: version byte 1, then the JSON text
    w.numeric(row.eventValue);
    w.text(row.sessionId);
    w.text(row.pageUrl);
    w.text(row.pageTitle);
    w.text(row.referrerUrl);
    w.inet(row.ipAddress);
    w.text(row.userAgent);
    w.text(row.deviceType);
    w.text(row.browser);
    w.text(row.os);
    w.text(row.screenResolution);
    w.text(row.country);
    w.text(row.city);
    w.text(row.utmSource);
    w.text(row.utmMedium);
    w.text(row.utmCampaign);
    w.text(row.utmTerm);
    w.text(row.utmContent);
    w.timestamptz(row.occurredAt);
    w.text(row.dataSource);
    w.text(row.sourceSystem);
    w.text(row.messageId);
  }
  return [BINARY_HEADER, w.take(), BINARY_TRAILER];
}
