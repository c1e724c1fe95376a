import { repairCustomerMetrics } from '../../../shared/src/customers/metrics/refresh.js';
import type { JobHandler } from './handler.js';
import type { MetricsPublishing } from './metrics-publishing.js';

/**
 * `daily_customer_metrics`: every computed column of every customer recomputed from the raw
 * tables and corrected where it drifted (normally nothing changes; a correction means a writer
 * missed something and is logged as a warning, with the columns).
 */
export const dailyCustomerMetrics =
  (publishing: MetricsPublishing): JobHandler =>
  async ({ db, now, signal, logger }) => {
    const result = await repairCustomerMetrics(db, now, {
      signal,
      feed: publishing.changes,
      onProgress: (p) => {
        publishing.written();
        logger.debug({ scanned: p.scanned, changed: p.changed }, 'customer metrics slice');
      },
    });
    if (result.changed > 0) {
      logger.warn(
        { corrected: result.changed, columns: result.columns },
        'customer metrics had drifted from the raw tables; corrected',
      );
    }
    return { summary: `${result.scanned} customers checked, ${result.changed} corrected` };
  };
