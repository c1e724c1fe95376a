import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/** A registry per service (never the global one), with process metrics and a `service` label. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Returns the metric called `name` from `registry`, creating it on first use, so two parts of
 * one service (say two Db instances) share a metric instead of failing on a duplicate name.
 */
export function metric<T>(
  registry: Registry,
  name: string,
  create: (name: string, registers: Registry[]) => T,
): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create(name, [registry]);
}
