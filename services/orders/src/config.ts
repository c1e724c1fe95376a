import { field, loadConfig, type Env } from '../../shared/src/config.js';
import { processorConfigSpec } from '../../shared/src/pipeline/processor-config.js';

export const ordersConfigSpec = {
  ...processorConfigSpec({ envPrefix: 'ORDERS', port: 9103, group: 'cdp-orders' }),
  /** Records claiming to happen later than this after receipt are dead-lettered (as in the event sink). */
  maxFutureMs: field.int('EVENT_MAX_FUTURE_MS', 24 * 3600 * 1000, { min: 0, max: 365 * 24 * 3600 * 1000 }),
};

export type OrdersConfig = ReturnType<typeof loadOrdersConfig>;

export function loadOrdersConfig(env: Env) {
  return loadConfig(ordersConfigSpec, env);
}
