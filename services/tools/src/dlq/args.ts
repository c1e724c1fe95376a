/** `dlq` command-line arguments: parsed here, once, into a command; nothing else reads argv. */
import { parseArgs } from 'node:util';
import { dlqTopic } from '../../../shared/src/topics.js';
import { UsageError } from '../cli.js';
import { formatPosition, parsePosition, type Position } from './envelope.js';
import type { Filter, Selection } from './select.js';
import { parseSince } from './time.js';

export const USAGE = `usage: npm run dlq -- <command>

  list [--topic T] [--reason R] [--since S] [--limit N]
      One line per dead letter of T's dead-letter topic (default: every input topic's), the
      newest N (default 100) of those matching, then the counts by reason.
  show <topic> <offset>
      One dead letter whole: the envelope and the original payload decoded through the registry.
  replay <topic> (--offsets LIST | --reason R [--since S] | --all [--since S]) [--dry-run]
      Produces the selected dead letters' original key, headers and payload to their original
      topic again (acks=all), with the header cdp-replayed-from: <dlq topic>:<offset>.

  <topic>, T   an input topic (cdp.events) or its dead-letter topic (cdp.events.dlq)
  <offset>     a dead-letter topic's offset; <partition>:<offset> on a partition other than 0
  LIST         offsets and ranges: 3,5,9 or 10-20
  S            a duration back from now (90s, 15m, 1h30m, 2d) or an ISO 8601 time (2026-11-20T10:00:00Z)
  R            a reason as list shows it (undecodable, schema-invalid, future-timestamp, ...)

Nothing is ever committed for a consumer group: reading a dead-letter topic changes nothing.`;

export type DlqCommand =
  | { kind: 'help' }
  | {
      kind: 'list';
      /** Dead-letter topics, in order. */
      topics: string[];
      /** Named with --topic (it must exist), rather than the default set (a missing one is skipped). */
      named: boolean;
      filter: Filter;
      limit: number;
    }
  | { kind: 'show'; topic: string; position: Position }
  | { kind: 'replay'; topic: string; selection: Selection; dryRun: boolean };

export interface ParseContext {
  now: number;
  /** The input topics `list` reads by default (with the configured prefix). */
  inputTopics: readonly string[];
}

export const DEFAULT_LIMIT = 100;
const MAX_POSITIONS = 100_000;

function fail(message: string): never {
  throw new UsageError(message, USAGE);
}

/** Parses `argv` (without node and the script) into a command; throws UsageError. */
export function parseDlqArgs(argv: readonly string[], ctx: ParseContext): DlqCommand {
  const [command, ...rest] = argv;
  if (command === undefined) fail('no command given');
  if (command === 'help' || command === '--help' || command === '-h') return { kind: 'help' };
  switch (command) {
    case 'list':
      return parseList(rest, ctx);
    case 'show':
      return parseShow(rest);
    case 'replay':
      return parseReplay(rest, ctx);
    default:
      return fail(`unknown command ${JSON.stringify(command)}`);
  }
}

type Spec = Record<string, { type: 'string' | 'boolean' }>;

/** node's parseArgs with every problem as a UsageError, and each option given at most once. */
function parse(
  args: readonly string[],
  spec: Spec,
): { values: Record<string, string | true>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, { ...v, multiple: true }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return fail((err as Error).message.split('\n')[0]!);
  }
  const values: Record<string, string | true> = {};
  for (const [name, given] of Object.entries(parsed.values)) {
    const list = given as (string | boolean)[];
    if (list.length > 1) fail(`--${name} is given ${list.length} times`);
    values[name] = list[0] === true ? true : String(list[0]);
  }
  return { values, positionals: parsed.positionals };
}

/** A topic as given: an input topic means its dead-letter topic. */
export function toDlqTopic(raw: string): string {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(raw)) fail(`${JSON.stringify(raw)} is not a topic name`);
  return raw.endsWith('.dlq') ? raw : dlqTopic(raw);
}

function filterOf(values: Record<string, string | true>, now: number): Filter {
  const filter: Filter = {};
  if (typeof values.reason === 'string') {
    if (!/^[\w.:-]{1,100}$/.test(values.reason))
      fail(`--reason ${JSON.stringify(values.reason)} is not a reason`);
    filter.reason = values.reason;
  }
  if (typeof values.since === 'string') {
    try {
      filter.sinceMs = parseSince(values.since, now);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  return filter;
}

function parseList(args: readonly string[], ctx: ParseContext): DlqCommand {
  const { values, positionals } = parse(args, {
    topic: { type: 'string' },
    reason: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
  });
  if (positionals.length > 0)
    fail(`list takes no ${JSON.stringify(positionals[0])}; the topic goes after --topic`);
  let limit = DEFAULT_LIMIT;
  if (typeof values.limit === 'string') {
    if (!/^\d{1,7}$/.test(values.limit) || Number(values.limit) < 1)
      fail(`--limit must be a whole number from 1 to 9999999`);
    limit = Number(values.limit);
  }
  const named = typeof values.topic === 'string';
  return {
    kind: 'list',
    topics: named ? [toDlqTopic(values.topic as string)] : ctx.inputTopics.map(dlqTopic),
    named,
    filter: filterOf(values, ctx.now),
    limit,
  };
}

function parseShow(args: readonly string[]): DlqCommand {
  const { positionals } = parse(args, {});
  if (positionals.length !== 2) fail('show takes a topic and an offset: show cdp.events 12');
  const position =
    parsePosition(positionals[1]!) ??
    fail(`${JSON.stringify(positionals[1])} is not an offset (12, or 1:12 on partition 1)`);
  return { kind: 'show', topic: toDlqTopic(positionals[0]!), position };
}

/** `3,5,9`, `10-20`, `1:4` (partition 1), `1:4-6`: sorted, each once. */
export function parseOffsetList(raw: string): Position[] {
  const seen = new Map<string, Position>();
  for (const item of raw.split(',')) {
    const m = /^(?:(\d{1,5}):)?(\d{1,15})(?:-(\d{1,15}))?$/.exec(item.trim());
    if (!m) fail(`--offsets: ${JSON.stringify(item)} is not an offset or a range (3, 10-20, 1:4)`);
    const [, p, a, b] = m;
    const partition = p === undefined ? 0 : Number(p);
    const from = Number(a);
    const to = b === undefined ? from : Number(b);
    if (to < from) fail(`--offsets: the range ${item} runs backwards`);
    if (to - from + 1 + seen.size > MAX_POSITIONS) fail(`--offsets: more than ${MAX_POSITIONS} offsets`);
    for (let offset = from; offset <= to; offset++) {
      const position = { partition, offset };
      seen.set(formatPosition(position), position);
    }
  }
  return [...seen.values()].sort((x, y) => x.partition - y.partition || x.offset - y.offset);
}

function parseReplay(args: readonly string[], ctx: ParseContext): DlqCommand {
  const { values, positionals } = parse(args, {
    offsets: { type: 'string' },
    reason: { type: 'string' },
    since: { type: 'string' },
    all: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  });
  if (positionals.length !== 1) fail('replay takes one topic: replay cdp.events --offsets 3,5');
  const topic = toDlqTopic(positionals[0]!);
  const dryRun = values['dry-run'] === true;
  const chosen = ['offsets', 'reason', 'all'].filter((k) => values[k] !== undefined);
  if (chosen.length === 0)
    fail('replay needs a selection: --offsets LIST, --reason R or --all (nothing is replayed by default)');
  if (chosen.length > 1)
    fail(`choose one of --offsets, --reason and --all (given: ${chosen.map((c) => `--${c}`).join(', ')})`);
  if (values.offsets !== undefined) {
    if (values.since !== undefined) fail('--since selects by time; with --offsets the offsets say it all');
    return {
      kind: 'replay',
      topic,
      selection: { kind: 'positions', positions: parseOffsetList(values.offsets as string) },
      dryRun,
    };
  }
  return { kind: 'replay', topic, selection: { kind: 'filter', filter: filterOf(values, ctx.now) }, dryRun };
}
