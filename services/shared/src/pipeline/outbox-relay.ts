import type { OutRecord } from '../kafka/batching-publisher.js';
import type { Db } from '../pg/gateway.js';
import type { Logger } from '../logger.js';
import { backoffMs, sleep } from '../retry.js';
import { CHANGE_ID_HEADER } from './outbox.js';

export interface RelayOptions {
  db: Db;
  /** Relays the rows this processor wrote (outbox.producer); its other instances share the work. */
  producer: string;
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

// One relay at a time per processor (pg_try_advisory_xact_lock on the producer's name), so its
// derived records leave in the order they were committed, whichever of its instances relays them.
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

  /**
   * One pass until the outbox is empty (or another instance holds the relay). A topic Kafka refuses
   * (deleted, not created yet) is left for the next pass; it does not hold up the other topics.
   */
  async drain(): Promise<{ relayed: number; stuck: string[] }> {
    const stuck = new Set<string>();
    let relayed = 0;
    for (;;) {
      const slice = await this.relaySlice(stuck);
      if (slice === undefined) break;
      relayed += slice.relayed;
      if (slice.read < (this.opts.batchRows ?? 500)) break;
    }
    return { relayed, stuck: [...stuck] };
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopped;) {
      this.woken = false;
      let waitMs = this.opts.pollMs ?? 1_000;
      try {
        const { stuck } = await this.drain();
        if (stuck.length > 0) {
          waitMs = Math.max(waitMs, backoffMs(attempt++, 30_000, 500));
          this.opts.logger.warn(
            { topics: stuck, retryInMs: waitMs },
            'Kafka refused outbox records for these topics; they stay in the outbox and are retried',
          );
        } else attempt = 0;
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
        const timer = setTimeout(resolve, waitMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** undefined: another instance is relaying. Rows of `stuck` topics are skipped (and added to). */
  private relaySlice(stuck: Set<string>): Promise<{ read: number; relayed: number } | undefined> {
    const limit = this.opts.batchRows ?? 500;
    return this.opts.db.transaction('outbox.relay', async (tx) => {
      const { rows: lock } = await tx.query<{ ok: boolean }>(
        'outbox.lock',
        'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS ok',
        [RELAY_LOCK, this.opts.producer],
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
        `SELECT id, change_id, topic, record_key, record_value FROM outbox
         WHERE producer = $3 AND NOT (topic = ANY($2::text[])) ORDER BY id LIMIT $1`,
        [limit, [...stuck], this.opts.producer],
      );
      const byTopic = new Map<string, typeof rows>();
      for (const r of rows) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push(r);
      }
      // One produce per topic, one after the other: order holds within a topic (and so per key),
      // and a topic Kafka refuses fails alone.
      const sent: number[] = [];
      for (const [topic, list] of byTopic) {
        try {
          await this.opts.publish(
            list.map((r) => ({
              topic: r.topic,
              key: r.record_key,
              value: r.record_value,
              headers: { [CHANGE_ID_HEADER]: r.change_id },
            })),
          );
          sent.push(...list.map((r) => r.id));
        } catch {
          stuck.add(topic);
        }
      }
      if (sent.length > 0) {
        this.opts.afterPublish?.();
        await tx.query('outbox.delete', 'DELETE FROM outbox WHERE id = ANY($1::bigint[])', [sent]);
        this.opts.onRelayed?.(sent.length);
      }
      if (rows.length < limit) {
        const { rows: left } = await tx.query<{ n: number }>(
          'outbox.pending',
          'SELECT count(*)::int AS n FROM outbox WHERE producer = $1',
          [this.opts.producer],
        );
        this.opts.onPending?.(left[0]!.n - sent.length);
      }
      return { read: rows.length, relayed: sent.length };
    });
  }
}
