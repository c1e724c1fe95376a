/**
 * The `dlq` commands against Kafka and the registry. Reading goes through readToEnd (a throwaway
 * group that commits nothing, bounded by the end offsets at the start); what is printed comes from
 * the plain functions of format.ts.
 */
import type { AvroCodec } from '../../../shared/src/avro/registry.js';
import { isRetryable } from '../../../shared/src/errors.js';
import {
  createProducer,
  topicOffsets,
  type Kafka,
  type KafkaMessage,
  type Message,
  type PartitionOffsets,
  type Producer,
} from '../../../shared/src/kafka/client.js';
import { readToEnd } from '../../../shared/src/kafka/read-to-end.js';
import { USAGE, type DlqCommand } from './args.js';
import {
  formatPosition,
  toDeadLetter,
  wireHeader,
  type DeadLetter,
  type DlqEntry,
  type Position,
} from './envelope.js';
import {
  LIST_HEADER,
  ReasonCounts,
  listCells,
  payloadSummary,
  replayLine,
  showLines,
  table,
  type PayloadView,
} from './format.js';
import { replayMessage } from './replay-message.js';
import { isEmptyFilter, selects, type Selection } from './select.js';

export interface DlqDeps {
  kafka: Kafka;
  codec: AvroCodec;
  /** The command's output (stdout). */
  out: (line: string) => void;
  /** Progress on long reads (stderr). */
  progress: (line: string) => void;
}

/** Group names of the tool's reads start with this; they never hold committed offsets. */
const GROUP_PREFIX = 'cdp-dlq-tool';
/** Records per produce request of a replay. */
const REPLAY_CHUNK = 500;

export async function runDlq(command: DlqCommand, deps: DlqDeps): Promise<void> {
  switch (command.kind) {
    case 'help':
      for (const line of USAGE.split('\n')) deps.out(line);
      return;
    case 'list':
      return list(command, deps);
    case 'show':
      return show(command, deps);
    case 'replay':
      return replay(command, deps);
  }
}

type Unreadable = Extract<DlqEntry, { unreadable: string }> & { raw: Buffer | null };

/** A dead-letter topic's record as an envelope; a registry outage is an error, anything else a finding. */
async function readEntry(
  codec: AvroCodec,
  partition: number,
  message: KafkaMessage,
): Promise<DlqEntry | Unreadable> {
  const position = { partition, offset: Number(message.offset) };
  if (!message.value) return { position, unreadable: 'the record has no value', raw: null };
  try {
    return { position, letter: toDeadLetter(await codec.decode(message.value)) };
  } catch (err) {
    if (isRetryable(err)) throw err;
    return { position, unreadable: (err as Error).message, raw: message.value };
  }
}

/** Decodes original payloads; a schema id the registry does not know is asked about once. */
class Payloads {
  private readonly unknownIds = new Map<number, string>();

  constructor(private readonly codec: AvroCodec) {}

  async view(letter: DeadLetter): Promise<PayloadView> {
    const header = wireHeader(letter.payload);
    if ('problem' in header) return header;
    const known = this.unknownIds.get(header.schemaId);
    if (known) return { problem: known };
    try {
      return { schemaId: header.schemaId, value: await this.codec.decode(letter.payload!) };
    } catch (err) {
      const status = ((err as { cause?: { status?: unknown } }).cause ?? {}).status;
      const problem = isRetryable(err)
        ? `the schema registry is unavailable (${(err as Error).message})`
        : `schema id ${header.schemaId}: ${(err as Error).message}`;
      if (status === 404) this.unknownIds.set(header.schemaId, problem);
      return { problem };
    }
  }
}

/** Progress on stderr every two seconds, for reads of at least 5000 records. */
function progressOf(topic: string, deps: DlqDeps): (read: number, total: number) => void {
  let last = Date.now();
  return (read, total) => {
    if (total < 5_000 || Date.now() - last < 2_000) return;
    last = Date.now();
    deps.progress(`${topic}: read ${read} of ${total} records`);
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

async function list(command: Extract<DlqCommand, { kind: 'list' }>, deps: DlqDeps): Promise<void> {
  const { kafka, codec, out } = deps;
  const offsets = await topicOffsets(kafka, command.topics);
  const payloads = new Payloads(codec);
  const counts = new ReasonCounts();
  const present: string[] = [];
  for (const topic of command.topics) {
    if (!offsets.has(topic)) {
      if (command.named) throw new Error(`topic ${topic} does not exist`);
      out(`${topic}: does not exist (skipped)`);
      continue;
    }
    present.push(topic);
    // Only the newest `limit` matching entries are kept (and their payloads decoded).
    let newest: DlqEntry[] = [];
    let read = 0;
    let matching = 0;
    await readToEnd(
      kafka,
      topic,
      async (partition, message) => {
        read++;
        const entry = await readEntry(codec, partition, message);
        if (!selects({ kind: 'filter', filter: command.filter }, entry)) return;
        matching++;
        counts.add('letter' in entry ? entry.letter.reason : '(unreadable envelope)', topic);
        newest.push(entry);
        if (newest.length >= 2 * command.limit) newest = newest.slice(-command.limit);
      },
      { groupPrefix: GROUP_PREFIX, onProgress: progressOf(topic, deps) },
    );
    newest = newest.slice(-command.limit);
    const filtered = !isEmptyFilter(command.filter);
    let heading = `${topic}: ${plural(read, 'dead letter')}`;
    if (filtered) heading += `, ${matching} matching`;
    if (matching > newest.length) heading += `, the newest ${newest.length} shown (--limit)`;
    out(heading);
    if (newest.length > 0) {
      const rows = [LIST_HEADER];
      for (const entry of newest) {
        const summary =
          'letter' in entry ? payloadSummary(entry.letter, await payloads.view(entry.letter)) : '-';
        rows.push(listCells(entry, summary));
      }
      for (const line of table(rows)) out(line);
    }
    out('');
  }
  if (counts.total === 0) {
    out(present.length === 0 ? 'no dead-letter topic to read' : 'no dead letters');
    return;
  }
  out(
    `by reason (${plural(counts.total, 'dead letter')}${isEmptyFilter(command.filter) ? '' : ' matching'}):`,
  );
  for (const line of counts.lines(present)) out(line);
}

/** The partitions of `topic`, or an error naming it. */
async function partitionsOf(kafka: Kafka, topic: string): Promise<PartitionOffsets[]> {
  const partitions = (await topicOffsets(kafka, [topic])).get(topic);
  if (!partitions) throw new Error(`topic ${topic} does not exist`);
  return partitions;
}

/** Why `position` is not a record of `topic` now, or undefined when it is. */
function notThere(topic: string, partitions: PartitionOffsets[], position: Position): string | undefined {
  const p = partitions.find((x) => x.partition === position.partition);
  if (!p) return `${topic} has no partition ${position.partition}`;
  if (position.offset >= p.low && position.offset < p.high) return undefined;
  const holds = p.high > p.low ? `offsets ${p.low} to ${p.high - 1}` : 'no records';
  const where = position.partition === 0 ? '' : ` partition ${position.partition}`;
  return `${topic}${where} holds ${holds}; ${position.offset} is not there`;
}

async function show(command: Extract<DlqCommand, { kind: 'show' }>, deps: DlqDeps): Promise<void> {
  const { kafka, codec, out } = deps;
  const { topic, position } = command;
  const problem = notThere(topic, await partitionsOf(kafka, topic), position);
  if (problem) throw new Error(problem);
  let found: DlqEntry | Unreadable | undefined;
  await readToEnd(
    kafka,
    topic,
    async (partition, message) => {
      if (Number(message.offset) !== position.offset) return;
      found = await readEntry(codec, partition, message);
      return 'stop';
    },
    { start: [position], groupPrefix: GROUP_PREFIX },
  );
  if (!found)
    throw new Error(`${topic} offset ${formatPosition(position)} was not found (removed by retention?)`);
  if (!('letter' in found)) {
    out(`${topic} offset ${formatPosition(position)}: the envelope cannot be read: ${found.unreadable}`);
    const { raw } = found as Unreadable;
    if (raw) out(`  value hex      ${raw.toString('hex')}\n  value base64   ${raw.toString('base64')}`);
    return;
  }
  for (const line of showLines(topic, position, found.letter, await new Payloads(codec).view(found.letter)))
    out(line);
}

async function replay(command: Extract<DlqCommand, { kind: 'replay' }>, deps: DlqDeps): Promise<void> {
  const { kafka, codec, out } = deps;
  const { topic, selection, dryRun } = command;
  const partitions = await partitionsOf(kafka, topic);
  let start: Position[] | undefined;
  if (selection.kind === 'positions') {
    const missing = selection.positions
      .map((p) => notThere(topic, partitions, p))
      .filter((m) => m !== undefined);
    if (missing.length > 0)
      throw new Error(
        `nothing replayed: ${missing.slice(0, 5).join('; ')}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''}`,
      );
    start = partitions.flatMap(({ partition }) => {
      const offsets = selection.positions.filter((p) => p.partition === partition).map((p) => p.offset);
      return offsets.length > 0 ? [{ partition, offset: Math.min(...offsets) }] : [];
    });
  }

  const payloads = new Payloads(codec);
  const replayer = new Replayer(kafka, topic, dryRun, out, payloads);
  const wanted =
    selection.kind === 'positions' ? new Set(selection.positions.map(formatPosition)) : undefined;
  let pending: { position: Position; letter: DeadLetter }[] = [];
  let skipped = 0;
  try {
    await readToEnd(
      kafka,
      topic,
      async (partition, message) => {
        const position = { partition, offset: Number(message.offset) };
        if (wanted && !wanted.delete(formatPosition(position))) return;
        const entry = await readEntry(codec, partition, message);
        if (!selects(selection, entry)) return;
        if (!('letter' in entry)) {
          // Only an offset or --all selects it; with offsets, fail before anything is produced.
          if (selection.kind === 'positions')
            throw new Error(
              `nothing replayed: ${topic}:${formatPosition(position)} cannot be read: ${entry.unreadable}`,
            );
          out(
            `skipped ${topic}:${formatPosition(position)}: the envelope cannot be read: ${entry.unreadable}`,
          );
          skipped++;
        } else if (entry.letter.payload === null) {
          out(`skipped ${topic}:${formatPosition(position)}: no payload (a tombstone), nothing to replay`);
          skipped++;
        } else {
          pending.push({ position, letter: entry.letter });
          // Offsets are replayed all at once at the end, once each was found and readable.
          if (selection.kind === 'filter' && pending.length >= REPLAY_CHUNK) {
            await replayer.send(pending);
            pending = [];
          }
        }
        if (wanted?.size === 0) return 'stop';
      },
      { start, groupPrefix: GROUP_PREFIX, onProgress: progressOf(topic, deps) },
    );
    if (wanted && wanted.size > 0)
      throw new Error(
        `nothing replayed: not found (removed by retention?): ${[...wanted].slice(0, 10).join(', ')}`,
      );
    await replayer.send(pending);
  } finally {
    await replayer.close();
  }
  const targets = [...replayer.targets.keys()].join(', ');
  const skippedText = skipped > 0 ? `, ${skipped} skipped` : '';
  if (replayer.count === 0)
    out(`nothing replayed: no dead letter of ${topic} ${describe(selection)}${skippedText}`);
  else if (dryRun)
    out(
      `dry run: ${plural(replayer.count, 'dead letter')} of ${topic} would be replayed to ${targets}${skippedText}; nothing was produced`,
    );
  else out(`replayed ${plural(replayer.count, 'dead letter')} of ${topic} to ${targets}${skippedText}`);
}

function describe(selection: Selection): string {
  if (selection.kind === 'positions') return 'at those offsets';
  const { reason, sinceMs } = selection.filter;
  const parts = [
    reason !== undefined ? `with reason ${reason}` : '',
    sinceMs !== undefined ? `since ${new Date(sinceMs).toISOString()}` : '',
  ];
  return parts.filter(Boolean).join(' ') || 'at all';
}

/** Produces replays (acks=all) and says where each went; a dry run only says where each would go. */
class Replayer {
  /** Original topic -> its partition count now. */
  readonly targets = new Map<string, number>();
  count = 0;
  private producer: Producer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly dlqTopic: string,
    private readonly dryRun: boolean,
    private readonly out: (line: string) => void,
    private readonly payloads: Payloads,
  ) {}

  async send(items: { position: Position; letter: DeadLetter }[]): Promise<void> {
    if (items.length === 0) return;
    const unknown = [...new Set(items.map((i) => i.letter.originalTopic))].filter(
      (t) => !this.targets.has(t),
    );
    if (unknown.length > 0) {
      const found = await topicOffsets(this.kafka, unknown);
      for (const t of unknown) {
        const partitions = found.get(t);
        if (!partitions)
          throw new Error(
            `the original topic ${t} does not exist; ${this.count > 0 ? `${this.count} replayed before this` : 'nothing replayed'}`,
          );
        this.targets.set(t, partitions.length);
      }
    }
    const messages = items.map((item) => ({
      ...item,
      message: replayMessage(
        item.letter,
        `${this.dlqTopic}:${formatPosition(item.position)}`,
        this.targets.get(item.letter.originalTopic)!,
      ),
    }));
    const where = new Map<(typeof messages)[number], string>();
    if (!this.dryRun) {
      // Not idempotent, like every producer here: a record sent twice after a lost acknowledgement
      // is dropped by the processors as a repeated (source, messageId), as any replay is.
      this.producer ??= createProducer(this.kafka, { idempotent: false, maxInFlightRequests: 1 });
      await this.producer.connect();
      // Per topic, those with a partition in one request (so each one's offset follows from the
      // partition's base offset), those the key places in another.
      const groups = new Map<string, typeof messages>();
      for (const m of messages) {
        const k = `${m.letter.originalTopic}\u0000${m.message.partition === undefined ? 'key' : 'partition'}`;
        const group = groups.get(k);
        if (group) group.push(m);
        else groups.set(k, [m]);
      }
      for (const group of groups.values()) {
        const to = group[0]!.letter.originalTopic;
        const sent = await this.producer.send({
          topic: to,
          acks: -1,
          messages: group.map((m) => m.message as Message),
        });
        const next = new Map(sent.map((r) => [r.partition, Number(r.baseOffset)]));
        for (const m of group) {
          const p = m.message.partition;
          if (p === undefined || !next.has(p)) {
            where.set(m, `${to} (partition by key)`);
            continue;
          }
          const offset = next.get(p)!;
          next.set(p, offset + 1);
          where.set(m, `${to}/${p}@${offset}`);
        }
      }
    }
    for (const m of messages) {
      const to =
        where.get(m) ??
        `${m.letter.originalTopic}${m.message.partition === undefined ? ' (partition by key)' : `/${m.message.partition}`}`;
      const summary = payloadSummary(m.letter, await this.payloads.view(m.letter));
      this.out(replayLine(this.dlqTopic, m.position, m.letter, to, summary, this.dryRun));
    }
    this.count += items.length;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}
