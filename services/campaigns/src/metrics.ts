import { Counter, type Registry } from 'prom-client';
import type { AttributionCounts } from '../../shared/src/campaigns/conversions.js';
import type { WriteCounts } from './write-events.js';

/** The campaigns processor's own counters (the runtime adds the per-processor ones). */
export function createCampaignsMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'campaigns_events_total',
      help: 'Campaign events by type and outcome: applied, duplicate (the same source and messageId again), campaign-deleted (its campaign was deleted after decoding); dead letters are processor_dead_lettered_total{reason}',
      labelNames: ['event', 'outcome'] as const,
      registers,
    }),
    outOfOrder: new Counter({
      name: 'campaigns_events_out_of_order_total',
      help: 'Events applied after an event of the same send that happened later (an open before its delivery, say)',
      labelNames: ['event'] as const,
      registers,
    }),
    late: new Counter({
      name: 'campaigns_events_late_total',
      help: 'Events received more than CAMPAIGNS_LATE_AFTER_MS after they happened',
      labelNames: ['event'] as const,
      registers,
    }),
    attribution: new Counter({
      name: 'campaigns_attribution_decisions_total',
      help: 'Orders attributed anew by this processor (a late click, a send that went out), by decision: campaign_id, last_click, pending, none',
      labelNames: ['decision'] as const,
      registers,
    }),
    suppressions: new Counter({
      name: 'campaigns_suppressions_total',
      help: 'Customers newly marked as suppressed on a channel, by reason (unsubscribed, complained)',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

export type CampaignsMetrics = ReturnType<typeof createCampaignsMetrics>;

/** Counts from committed transactions only. */
export function countCommitted(metrics: CampaignsMetrics, results: readonly WriteCounts[]): void {
  for (const r of results) {
    for (const [key, n] of Object.entries(r.events)) {
      const [event, outcome] = key.split('/') as [string, string];
      metrics.events.inc({ event, outcome }, n);
    }
    for (const [event, n] of Object.entries(r.outOfOrder)) metrics.outOfOrder.inc({ event }, n);
    for (const [event, n] of Object.entries(r.late)) metrics.late.inc({ event }, n);
    for (const [decision, n] of Object.entries(r.attribution as AttributionCounts))
      if (n > 0) metrics.attribution.inc({ decision }, n);
    for (const [reason, n] of Object.entries(r.suppressions)) metrics.suppressions.inc({ reason }, n);
  }
}
