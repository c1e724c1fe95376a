import { field, loadConfig, type Env } from '../../shared/src/config.js';
import { processorConfigSpec } from '../../shared/src/pipeline/processor-config.js';

export const segmentsConfigSpec = {
  ...processorConfigSpec({ envPrefix: 'SEGMENTS', port: 9106, group: 'cdp-segments' }),
  /** How often segments are compared with what was evaluated, besides the NOTIFY a change sends. */
  pollMs: field.int('SEGMENTS_POLL_MS', 5_000, { min: 100, max: 600_000 }),
  /** statement_timeout of a full evaluation (criteria or sql_query). */
  queryTimeoutMs: field.int('SEGMENTS_QUERY_TIMEOUT_MS', 30_000, { min: 100, max: 3_600_000 }),
  /** How soon a segment whose members changed has its count and averages refreshed. */
  statsIntervalMs: field.int('SEGMENTS_STATS_INTERVAL_MS', 10_000, { min: 100, max: 3_600_000 }),
};

export type SegmentsConfig = ReturnType<typeof loadSegmentsConfig>;

export function loadSegmentsConfig(env: Env) {
  return loadConfig(segmentsConfigSpec, env);
}
