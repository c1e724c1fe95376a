import { UsageError } from '../cli.js';

export const USAGE = `usage: npm run customers:recompute -- [--check] [--customer ID]... [--slice N]

Recomputes every computed column of customers (order totals, lifetime value, page views,
sessions, first/last seen, scores, lifecycle stage, age group) from customer_events and
customer_orders, and corrects the rows that differ; the changes go out on cdp.customer-changes.

  --check        report the differences only, write nothing (exit 3 when there are any)
  --customer ID  only this customer: its customer_id, any of its external ids, or its uuid
                 (repeatable); default: every customer
  --slice N      customers per transaction (default 1000)`;

export interface RecomputeArgs {
  check: boolean;
  customers: string[];
  sliceSize: number;
}

export function parseRecomputeArgs(argv: readonly string[]): RecomputeArgs | 'help' {
  const args: RecomputeArgs = { check: false, customers: [], sliceSize: 1_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return 'help';
    else if (a === '--check') args.check = true;
    else if (a === '--customer' || a === '--slice') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`, USAGE);
      if (a === '--customer') args.customers.push(v);
      else {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 100_000)
          throw new UsageError(`--slice must be 1-100000, not ${v}`, USAGE);
        args.sliceSize = n;
      }
    } else throw new UsageError(`unknown argument: ${a}`, USAGE);
  }
  return args;
}
