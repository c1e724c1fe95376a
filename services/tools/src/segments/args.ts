import { UsageError } from '../cli.js';

export const USAGE = `usage: npm run segments -- check FILE [--at TIME] [--sql]
       npm run segments -- verify [--at TIME]

  check FILE   validate a criteria file (the JSON of segments.criteria) and count the customers
               it would hold, before the segment is saved; exit 1 when the criteria are refused
  verify       compare every active segment's members with its criteria evaluated from scratch
               (invariant 3); exit 3 when any differ
  --at TIME    evaluate as of this ISO 8601 instant (default: now), for time-relative criteria
  --sql        also print the parameterized SQL the criteria compile to`;

export type SegmentsArgs =
  { command: 'check'; file: string; at: Date; sql: boolean } | { command: 'verify'; at: Date } | 'help';

export function parseSegmentsArgs(argv: readonly string[]): SegmentsArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return 'help';
  if (command !== 'check' && command !== 'verify') throw new UsageError(`unknown command: ${command}`, USAGE);
  let file: string | undefined;
  let at = new Date();
  let sql = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--sql' && command === 'check') sql = true;
    else if (a === '--at') {
      const v = rest[++i];
      const ms = v === undefined ? NaN : Date.parse(v);
      if (!Number.isFinite(ms))
        throw new UsageError(`--at needs an ISO 8601 time, not ${v ?? 'nothing'}`, USAGE);
      at = new Date(ms);
    } else if (!a.startsWith('--') && command === 'check' && file === undefined) file = a;
    else throw new UsageError(`unknown argument: ${a}`, USAGE);
  }
  if (command === 'verify') return { command, at };
  if (file === undefined) throw new UsageError('check needs the criteria file', USAGE);
  return { command, file, at, sql };
}
