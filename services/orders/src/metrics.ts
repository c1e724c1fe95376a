import { Counter, type Registry } from 'prom-client';
import type { WriteCounts } from './write-orders.js';

/** The orders processor's own counters (the runtime adds the per-processor ones). */
export function createOrdersMetrics(registry: Registry) {
  const registers = [registry];
  return {
    created: new Counter({
      name: 'orders_created_total',
      help: 'customer_orders rows created',
      registers,
    }),
    updated: new Counter({
      name: 'orders_updated_total',
      help: 'customer_orders rows updated by a record that changed the order',
      registers,
    }),
    parked: new Counter({
      name: 'orders_updates_parked_total',
      help: 'Records applied to an order that cannot be written yet (no order_total seen): kept in order_state until it arrives',
      registers,
    }),
    redemptions: new Counter({
      name: 'orders_promotion_redemptions_total',
      help: 'promotion_redemptions rows recorded (or re-recorded after a change), by validity',
      labelNames: ['validity'] as const,
      registers,
    }),
    unknownCodes: new Counter({
      name: 'orders_unknown_promotion_codes_total',
      help: 'Orders carrying a promotion_code that names no promotion (kept on the order, no redemption)',
      registers,
    }),
    attributions: new Counter({
      name: 'orders_campaign_attributions_total',
      help: 'Campaign attribution decisions for the orders written, by decision (campaign_id, last_click, pending, none)',
      labelNames: ['decision'] as const,
      registers,
    }),
    truncated: new Counter({
      name: 'orders_truncated_values_total',
      help: 'Values cut to fit their VARCHAR(n) column, by column (the README lists the policy)',
      labelNames: ['column'] as const,
      registers,
    }),
  };
}

export type OrdersMetrics = ReturnType<typeof createOrdersMetrics>;

/** Counts from committed transactions only. */
export function countCommitted(metrics: OrdersMetrics, results: readonly WriteCounts[]): void {
  for (const r of results) {
    metrics.created.inc(r.created);
    metrics.updated.inc(r.updated);
    metrics.parked.inc(r.parked);
    metrics.redemptions.inc({ validity: 'valid' }, r.redemptions.valid);
    metrics.redemptions.inc({ validity: 'invalid' }, r.redemptions.invalid);
    metrics.unknownCodes.inc(r.unknownCodes);
    for (const [column, n] of Object.entries(r.truncated)) metrics.truncated.inc({ column }, n);
    for (const [decision, n] of Object.entries(r.attributions))
      if (n > 0) metrics.attributions.inc({ decision }, n);
  }
}
