import { loadConfig, type Env } from '../../shared/src/config.js';
import { processorConfigSpec } from '../../shared/src/pipeline/processor-config.js';

export const ordersConfigSpec = processorConfigSpec({ envPrefix: 'ORDERS', port: 9103, group: 'cdp-orders' });

export type OrdersConfig = ReturnType<typeof loadOrdersConfig>;

export function loadOrdersConfig(env: Env) {
  return loadConfig(ordersConfigSpec, env);
}
