import { Counter, type Registry } from 'prom-client';
import { metric } from '../../shared/src/metrics/registry.js';
import type { WriteCounts } from './batch-state.js';

/** Each count of a write, as the counter it feeds: name, help, label. */
const COUNTERS: Record<keyof WriteCounts, readonly [name: string, help: string, label: string]> = {
  applied: ['identities_records_applied_total', 'identify, alias and group records applied, by type', 'type'],
  merges: [
    'identities_merges_total',
    'Two profiles made one: merged (rows moved to the surviving customer, the anonymous one deleted) or adopted (the anonymous customer renamed to a new userId)',
    'kind',
  ],
  refused: [
    'identities_merges_refused_total',
    'Links refused because both profiles carry a userId (two known users are never merged), by reason',
    'reason',
  ],
  truncated: [
    'identities_truncated_values_total',
    'Trait values cut to fit their VARCHAR(n) column, by column',
    'column',
  ],
  ignored: [
    'identities_ignored_values_total',
    'Trait values that cannot be their column (a birthday that is no date, an unknown time zone, an object for an email), left out, by column',
    'column',
  ],
  changes: [
    'identities_customer_changes_total',
    'Customer changes written to the outbox for cdp.customer-changes, by kind',
    'kind',
  ],
};

/**
 * The processor's own counters (the runtime adds the common processor_* ones), fed from committed
 * transactions only, so a retried or split batch never counts twice.
 */
export function createIdentitiesMetrics(registry: Registry) {
  const counters = Object.fromEntries(
    Object.entries(COUNTERS).map(([key, [name, help, label]]) => [
      key,
      metric(
        registry,
        name,
        (n, registers) => new Counter({ name: n, help, labelNames: [label], registers }),
      ),
    ]),
  ) as Record<keyof WriteCounts, Counter<string>>;
  return {
    counters,
    count(results: readonly WriteCounts[]): void {
      for (const r of results) {
        for (const key of Object.keys(COUNTERS) as (keyof WriteCounts)[]) {
          const label = COUNTERS[key][2];
          for (const [value, n] of Object.entries(r[key])) counters[key].inc({ [label]: value }, n);
        }
      }
    },
  };
}

export type IdentitiesMetrics = ReturnType<typeof createIdentitiesMetrics>;
