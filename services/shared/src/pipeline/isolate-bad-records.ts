import { isDataError } from '../errors.js';

/** What a processor supplies so the runtime can find the records the database refuses. */
export interface CommitSteps<T> {
  /**
   * Writes `items` and stores the partition's offset as `throughOffset + 1`, in ONE transaction
   * (items below the stored offset are skipped inside it, as for any batch).
   */
  commit(items: T[], throughOffset: number): Promise<void>;
  /** Sends one refused item to the dead-letter topic; resolves once Kafka acknowledged it. */
  deadLetter(item: T, err: Error & { code: string }): Promise<void>;
  offsetOf(item: T): number;
}

/**
 * The backstop behind every processor's mapping: a batch whose write PostgreSQL refuses because of
 * the data (isDataError: bad encoding, out of range, constraint) is split in halves, each committed
 * on its own, down to the single records that fail; those are dead-lettered with PostgreSQL's
 * message and their offset committed past, and everything else commits exactly once. Halves commit
 * in offset order, each advancing the stored offset only to just before the next half, so a crash
 * or a retryable error part-way leaves a prefix committed and the retried batch skips it. Finding
 * k bad records among n costs about 2·k·log2(n) extra transactions, and none when the batch is good.
 *
 * Any other error (the database down, a bug) propagates unchanged: the caller retries or stops.
 * Returns how many records were dead-lettered.
 */
export async function commitIsolatingBadRecords<T>(
  items: readonly T[],
  throughOffset: number,
  steps: CommitSteps<T>,
): Promise<number> {
  let deadLettered = 0;

  const attempt = async (part: readonly T[], through: number): Promise<void> => {
    try {
      await steps.commit([...part], through);
      return;
    } catch (err) {
      if (!isDataError(err) || part.length === 0) throw err;
      if (part.length === 1) {
        await steps.deadLetter(part[0]!, err);
        deadLettered++;
        await steps.commit([], through);
        return;
      }
    }
    const mid = part.length >> 1;
    const right = part.slice(mid);
    await attempt(part.slice(0, mid), steps.offsetOf(right[0]!) - 1);
    await attempt(right, through);
  };

  await attempt(items, throughOffset);
  return deadLettered;
}
