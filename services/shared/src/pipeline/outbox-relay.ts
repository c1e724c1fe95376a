import type { OutRecord } from '../kafka/batching-publisher.js';
import type { Db } from '../pg/gateway.js';
import type { Logger } from '../logger.js';
import { backoffMs, sleep } from '../retry.js';
import { CHANGE_ID_HEADER } from './outbox.js';

export interface RelayOptions {
  db: Db;
  /** Produces the records; resolves once Kafka acknowledged all of them (acks=all). */
  publish: (records: OutRecord[]) => Promise<void>;
  logger: Logger;
  /** Rows found by this interval even without a wake-up: those a crashed instance left behind. */
  pollMs?: number;
  batchRows?: number;
  onRelayed?: (count: number) => void;
  onPending?: (count: number) => void;
  /** Failure testing only: runs after Kafka acknowledged a pass, before its rows are deleted. */
  afterPublish?: () => void;
}

// One relay at a time per database (pg_try_advisory_xact_lock), so derived records leave in the
// order they were committed, whichever processor instance relays them.
const RELAY_LOCK = 0x6364_7001;

/**
 * Relays outbox rows to Kafka in id order: in one transaction it takes the relay lock, reads a
 * slice, produces it (acks=all) and deletes it. A crash after the produce and before the COMMIT
 * produces the slice again on the next pass with the same change ids, which consumers
 * de-duplicate on: at least once on the wire, exactly once per change id.
 */
export class OutboxRelay {
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: RelayOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** A commit wrote outbox rows: relay them now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops the loop after one last pass, so what the final batches wrote leaves with this instance. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    if (!this.loop) return;
    await this.loop;
    await this.drain().catch((err: Error) =>
      this.opts.logger.warn(
        { err: { message: err.message } },
        'last outbox pass failed; the next start relays it',
      ),
    );
  }

  /** One pass until the outbox is empty (or another instance holds the relay). Returns rows relayed. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.relaySlice();
      if (n === undefined) return total;
      total += n;
      if (n < (this.opts.batchRows ?? 500)) return total;
    }
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopped;) {
      this.woken = false;
      try {
        await this.drain();
        attempt = 0;
      } catch (err) {
        this.opts.logger.warn(
          { attempt, err: { message: (err as Error).message } },
          'outbox relay failed; the rows stay and are relayed on the next pass',
        );
        await sleep(backoffMs(attempt++, 10_000, 200));
        continue;
      }
      if (this.woken || this.stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.pollMs ?? 1_000);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** undefined: another instance is relaying. */
  private relaySlice(): Promise<number | undefined> {
    const limit = this.opts.batchRows ?? 500;
    return this.opts.db.transaction('outbox.relay', async (tx) => {
      const { rows: lock } = await tx.query<{ ok: boolean }>(
        'outbox.lock',
        'SELECT pg_try_advisory_xact_lock($1) AS ok',
        [RELAY_LOCK],
      );
      if (!lock[0]!.ok) return undefined;
      const { rows } = await tx.query<{
        id: number;
        change_id: string;
        topic: string;
        record_key: string | null;
        record_value: Buffer;
      }>(
        'outbox.read',
        'SELECT id, change_id, topic, record_key, record_value FROM outbox ORDER BY id LIMIT $1',
        [limit],
      );
      if (rows.length === 0) {
        this.opts.onPending?.(0);
        return 0;
      }
      await this.opts.publish(
        rows.map((r) => ({
          topic: r.topic,
          key: r.record_key,
          value: r.record_value,
          headers: { [CHANGE_ID_HEADER]: r.change_id },
        })),
      );
      this.opts.afterPublish?.();
      await tx.query('outbox.delete', 'DELETE FROM outbox WHERE id = ANY($1::bigint[])', [
        rows.map((r) => r.id),
      ]);
      this.opts.onRelayed?.(rows.length);
      if (rows.length < limit) this.opts.onPending?.(0);
      return rows.length;
    });
  }
}
