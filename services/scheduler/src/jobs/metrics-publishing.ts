import type { ChangeFeed } from '../../../shared/src/customers/change.js';

/** Where the metrics jobs publish what they change: cdp.customer-changes, through the outbox. */
export interface MetricsPublishing {
  changes: ChangeFeed | null;
  /** A slice committed outbox rows: relay them now rather than at the relay's next poll. */
  written: () => void;
}
