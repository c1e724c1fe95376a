import { Counter, Histogram, type Registry } from 'prom-client';

/** The segments processor's own metrics (the runtime adds the per-processor ones). */
export function createSegmentsMetrics(registry: Registry) {
  const registers = [registry];
  return {
    transitions: new Counter({
      name: 'segments_transitions_total',
      help: 'Membership transitions made by the incremental path (cdp.customer-changes), by change: entered, exited',
      labelNames: ['change'] as const,
      registers,
    }),
    customersEvaluated: new Counter({
      name: 'segments_customers_evaluated_total',
      help: 'Customers evaluated against every active segment after a change',
      registers,
    }),
    changeToMembership: new Histogram({
      name: 'segments_change_to_membership_seconds',
      help: 'From the commit of a customer change to the commit of the membership transition it caused',
      buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60],
      registers,
    }),
    evaluations: new Counter({
      name: 'segments_full_evaluations_total',
      help: 'Full evaluations of new or changed segments, by outcome: evaluated, rejected (criteria or sql_query error, stored in segments.criteria_error), skipped (static or inactive)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    published: new Counter({
      name: 'segments_changes_published_total',
      help: 'Transitions moved from the journal to the outbox for cdp.segment-changes, by whoever made them',
      registers,
    }),
  };
}

export type SegmentsMetrics = ReturnType<typeof createSegmentsMetrics>;
