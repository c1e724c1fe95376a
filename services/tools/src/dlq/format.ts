/** What `dlq` prints, as plain functions of what it read. */
import {
  cut,
  formatPosition,
  summarizeRecord,
  type DeadLetter,
  type DlqEntry,
  type Position,
} from './envelope.js';

/** The original payload as far as it could be read: decoded through the registry, or why not. */
export type PayloadView = { schemaId: number; value: unknown } | { problem: string };

export const isoTime = (ms: number | null): string => {
  if (ms === null) return '-';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `invalid time ${ms}` : date.toISOString();
};

/** `cdp.events/2@17`: where a record was in its topic. */
export const origin = (letter: DeadLetter): string =>
  `${letter.originalTopic}/${letter.partition}@${letter.offset}`;

/** What a record is, never who it is about: from the decoded payload, or its size and the problem. */
export function payloadSummary(letter: DeadLetter, view: PayloadView): string {
  if ('value' in view) return summarizeRecord(view.value);
  const size = letter.payload === null ? '' : `${letter.payload.length} bytes, `;
  return cut(`${size}${view.problem}`, 100);
}

export const LIST_HEADER = ['OFFSET', 'FAILED AT', 'ORIGINAL', 'REASON', 'SERVICE', 'FIRST ERROR', 'RECORD'];

/** The cells of one `list` line. */
export function listCells(entry: DlqEntry, summary: string): string[] {
  const at = formatPosition(entry.position);
  if (!('letter' in entry))
    return [at, '-', '-', '(unreadable envelope)', '-', quote(cut(entry.unreadable, 60)), '-'];
  const { letter } = entry;
  const firstError = letter.errors[0] === undefined ? '-' : quote(cut(letter.errors[0], 60));
  return [
    at,
    isoTime(letter.failedAt),
    origin(letter),
    letter.reason,
    letter.service || '-',
    firstError,
    summary,
  ];
}

const quote = (s: string): string => JSON.stringify(s);

/** Rows in columns two spaces apart; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** Dead letters counted by reason, and by topic within a reason. */
export class ReasonCounts {
  private readonly counts = new Map<string, Map<string, number>>();
  total = 0;

  add(reason: string, topic: string): void {
    let byTopic = this.counts.get(reason);
    if (!byTopic) this.counts.set(reason, (byTopic = new Map()));
    byTopic.set(topic, (byTopic.get(topic) ?? 0) + 1);
    this.total++;
  }

  /** Most frequent first; topics named only when there are several. */
  lines(topics: readonly string[]): string[] {
    const rows = [...this.counts]
      .map(([reason, byTopic]) => ({ reason, byTopic, n: [...byTopic.values()].reduce((a, b) => a + b, 0) }))
      .sort((a, b) => b.n - a.n || a.reason.localeCompare(b.reason))
      .map(({ reason, byTopic, n }) => {
        const where =
          topics.length > 1 ? [...byTopic].map(([topic, count]) => `${topic} ${count}`).join(', ') : '';
        return where ? [reason, String(n), `(${where})`] : [reason, String(n)];
      });
    return table(rows).map((line) => `  ${line}`);
  }
}

/** Bytes as text when they are printable UTF-8 (quoted), otherwise as hex. */
export function bytesText(bytes: Buffer | null): string {
  if (bytes === null) return 'null';
  const text = bytes.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(text, 'utf8').equals(bytes) && !/[\u0000-\u0008\u000e-\u001f\u007f\ufffd]/.test(text))
    return JSON.stringify(text);
  return `hex ${bytes.toString('hex')}`;
}

/** `show`: the whole envelope, then the payload decoded, or its bytes and why it is not decoded. */
export function showLines(
  dlqTopic: string,
  position: Position,
  letter: DeadLetter,
  view: PayloadView,
): string[] {
  const field = (name: string, value: string) => `  ${name.padEnd(15)}${value}`;
  const more = (value: string) => `  ${''.padEnd(15)}${value}`;
  const list = (name: string, values: string[]) =>
    values.length === 0
      ? [field(name, '(none)')]
      : values.map((v, i) => (i === 0 ? field(name, v) : more(v)));
  const lines = [
    `dead letter ${dlqTopic} offset ${position.offset} (partition ${position.partition})`,
    field('original', origin(letter)),
    field('timestamp', `${isoTime(letter.timestamp)} (the original record's)`),
    field('reason', letter.reason),
    ...list('errors', letter.errors),
    field('attempts', String(letter.attempts)),
    field('service', letter.service),
    field('failed at', isoTime(letter.failedAt)),
    field('key', bytesText(letter.key)),
    ...list(
      'headers',
      letter.headers.map((h) => `${h.key}: ${bytesText(h.value)}`),
    ),
  ];
  const size = letter.payload === null ? 'no payload' : `${letter.payload.length} bytes`;
  if ('value' in view) {
    lines.push(field('payload', `${size}, Confluent wire format, schema id ${view.schemaId}, decoded:`));
    lines.push(JSON.stringify(view.value, jsonBytes, 2));
  } else {
    lines.push(field('payload', `${size}, not decoded: ${view.problem}`));
    if (letter.payload !== null && letter.payload.length > 0) {
      lines.push(field('payload hex', letter.payload.toString('hex')));
      lines.push(field('payload base64', letter.payload.toString('base64')));
    }
  }
  return lines;
}

/** JSON.stringify replacer: Avro bytes (Buffers) as hex instead of arrays of numbers. */
function jsonBytes(_key: string, value: unknown): unknown {
  const v = value as { type?: unknown; data?: unknown };
  if (v && v.type === 'Buffer' && Array.isArray(v.data)) return `hex ${Buffer.from(v.data).toString('hex')}`;
  return typeof value === 'bigint' ? value.toString() : value;
}

/** A `replay` line: what went (or would go) where. */
export function replayLine(
  dlqTopic: string,
  position: Position,
  letter: DeadLetter,
  to: string,
  summary: string,
  dryRun: boolean,
): string {
  return `${dryRun ? 'would replay' : 'replayed'} ${dlqTopic}:${formatPosition(position)} -> ${to}  ${letter.reason}  ${summary}`;
}

/**
 * A line safe to print on an operator's terminal: event names and error texts come from clients,
 * and a raw ESC, another control character or a bidi override could rewrite what the screen shows.
 * Each becomes a visible `\u{…}` escape; everything else is printed as it is.
 */
export const terminalSafe = (line: string): string =>
  line.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);

// C0 but tab and newline, DEL, C1, and the bidi marks, embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
