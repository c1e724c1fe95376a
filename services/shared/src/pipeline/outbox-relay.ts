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
  /**
   * Rows found by this interval even without a wake-up: those a crashed instance left behind (a
   * commit of this instance wakes the relay at once). Default 5 s.
   */
  pollMs?: number;
  batchRows?: number;
  onRelayed?: (count: number) => void;
  onPending?: (count: number) => void;
  onDeadLettered?: (count: number) => void;
  /** Failure testing only: runs after Kafka acknowledged a pass, before its rows are deleted. */
  afterPublish?: () => void;
}

// One relay at a time per processor (pg_try_advisory_xact_lock on the producer's name), so its
// derived records leave in the order they were committed, whichever of its instances relays them.
const RELAY_LOCK = 0x6364_7001;
const PENDING_EVERY_MS = 1_000;
const VACUUM_EVERY_MS = 30_000;
const VACUUM_AFTER_ROWS = 1_000;
const STOP_DRAIN_MS = 5_000;

/**
 * Relays outbox rows to Kafka in id order (insert order; per customer that is commit order, as a
 * processor locks the customer's row before writing its change): in one transaction it takes the
 * relay lock, reads a slice, produces it (acks=all) and deletes it. A crash after the produce and before the COMMIT
 * produces the slice again on the next pass with the same change ids, which consumers
 * de-duplicate on: at least once on the wire, exactly once per change id.
 */
export class OutboxRelay {
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** Topics Kafka refused, and when to try them again. */
  private readonly retryAt = new Map<string, { at: number; attempt: number }>();
  private countedAt = 0;
  private deletedSinceVacuum = 0;
  private vacuumedAt = Date.now();

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
    // Bounded: a pass producing to a topic Kafka refuses (one not created yet, or of another
    // cluster) would hold a SIGTERM for the whole produce timeout. What is not sent stays in the
    // outbox for the next start (or another instance) to relay.
    const loop = this.loop;
    const last = (async () => {
      await loop;
      await this.drain().catch((err: Error) =>
        this.opts.logger.warn(
          { err: { message: err.message } },
          'last outbox pass failed; the next start relays it',
        ),
      );
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_DRAIN_MS)));
    if ((await Promise.race([last, late])) === 'late')
      this.opts.logger.warn(
        { afterMs: STOP_DRAIN_MS },
        'outbox relay still busy at shutdown; the next start relays what it did not',
      );
    clearTimeout(timer);
  }

  /**
   * One pass until the outbox is empty (or another instance holds the relay). A topic Kafka refuses
   * (deleted, not created yet, the broker down) is left for a later pass, with backoff; it holds up
   * neither the other topics nor the next passes. A record Kafka refuses for good (too large for
   * its topic) is moved to outbox_dead_letters with the error.
   */
  async drain(): Promise<{ relayed: number; stuck: string[] }> {
    const now = Date.now();
    const skip = new Set([...this.retryAt].filter(([, r]) => r.at > now).map(([topic]) => topic));
    const failed = new Set<string>();
    let relayed = 0;
    for (;;) {
      const slice = await this.relaySlice(new Set([...skip, ...failed]), failed);
      if (slice === undefined) break;
      relayed += slice.relayed;
      if (slice.read < (this.opts.batchRows ?? 500)) break;
    }
    for (const topic of failed) {
      const attempt = (this.retryAt.get(topic)?.attempt ?? 0) + 1;
      this.retryAt.set(topic, { at: Date.now() + backoffMs(attempt, 30_000, 500), attempt });
    }
    for (const topic of this.retryAt.keys())
      if (!failed.has(topic) && !skip.has(topic)) this.retryAt.delete(topic);
    await this.vacuumNow();
    return { relayed, stuck: [...failed, ...skip] };
  }

  /**
   * The outbox is a queue: every row is deleted soon after it is written, and its dead rows slow
   * every read of it until a VACUUM. Autovacuum may be off (it is on these development machines)
   * or slower than the churn, so the relays vacuum it themselves, every VACUUM_EVERY_MS while they
   * delete (SKIP_LOCKED: one vacuum at a time, the others skip).
   */
  private async vacuumNow(): Promise<void> {
    if (this.deletedSinceVacuum < VACUUM_AFTER_ROWS || Date.now() - this.vacuumedAt < VACUUM_EVERY_MS) return;
    this.vacuumedAt = Date.now();
    this.deletedSinceVacuum = 0;
    await this.opts.db
      .query('outbox.vacuum', 'VACUUM (SKIP_LOCKED) outbox')
      .catch((err: Error) =>
        this.opts.logger.warn(
          { err: { message: err.message } },
          'vacuuming the outbox failed; the next pass tries again',
        ),
      );
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopped;) {
      this.woken = false;
      try {
        const { stuck } = await this.drain();
        if (stuck.length > 0)
          this.opts.logger.warn(
            { topics: stuck },
            'Kafka refused outbox records for these topics; they stay in the outbox and are retried with backoff',
          );
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
        const timer = setTimeout(resolve, this.opts.pollMs ?? 5_000);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** undefined: another instance is relaying. Rows of `skip` topics are left; topics that fail go to `failed`. */
  private relaySlice(
    skip: Set<string>,
    failed: Set<string>,
  ): Promise<{ read: number; relayed: number } | undefined> {
    const limit = this.opts.batchRows ?? 500;
    return this.opts.db.transaction('outbox.relay', async (tx) => {
      const { rows: lock } = await tx.query<{ ok: boolean }>(
        'outbox.lock',
        'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS ok',
        [RELAY_LOCK, this.opts.producer],
      );
      if (!lock[0]!.ok) return undefined;
      const { rows } = await tx.query<OutboxRow>(
        'outbox.read',
        `SELECT id, change_id, topic, record_key, record_value FROM outbox
         WHERE producer = $3 AND NOT (topic = ANY($2::text[])) ORDER BY id LIMIT $1`,
        [limit, [...skip], this.opts.producer],
      );
      const byTopic = new Map<string, OutboxRow[]>();
      for (const r of rows) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push(r);
      }
      // One produce per topic, one after the other: order holds within a topic (and so per key),
      // and a topic Kafka refuses fails alone.
      const sent: number[] = [];
      const refused: { row: OutboxRow; error: string }[] = [];
      for (const [topic, list] of byTopic) {
        const outcome = await this.send(list);
        sent.push(...outcome.sent);
        refused.push(...outcome.refused);
        if (outcome.retry) failed.add(topic);
      }
      if (sent.length > 0) this.opts.afterPublish?.();
      if (refused.length > 0) {
        await tx.query(
          'outbox.dead-letter',
          `INSERT INTO outbox_dead_letters (id, change_id, topic, record_key, record_value, producer, created_at, error)
           SELECT o.id, o.change_id, o.topic, o.record_key, o.record_value, o.producer, o.created_at, e.error
           FROM outbox o JOIN unnest($1::bigint[], $2::text[]) AS e(id, error) ON e.id = o.id`,
          [refused.map((r) => r.row.id), refused.map((r) => r.error)],
        );
        for (const r of refused)
          this.opts.logger.error(
            { topic: r.row.topic, changeId: r.row.change_id, error: r.error },
            'Kafka refused an outbox record for good; moved it to outbox_dead_letters',
          );
        this.opts.onDeadLettered?.(refused.length);
      }
      const done = [...sent, ...refused.map((r) => r.row.id)];
      if (done.length > 0) {
        await tx.query('outbox.delete', 'DELETE FROM outbox WHERE id = ANY($1::bigint[])', [done]);
        this.opts.onRelayed?.(sent.length);
      }
      // The gauge, at most once a second: a count on every pass was the relay's biggest cost.
      if (this.opts.onPending && Date.now() - this.countedAt >= PENDING_EVERY_MS) {
        this.countedAt = Date.now();
        const { rows: left } = await tx.query<{ n: number }>(
          'outbox.pending',
          'SELECT count(*)::int AS n FROM outbox WHERE producer = $1',
          [this.opts.producer],
        );
        this.opts.onPending(left[0]!.n);
      }
      this.deletedSinceVacuum += done.length;
      return { read: rows.length, relayed: sent.length };
    });
  }

  /**
   * Produces one topic's rows. A refusal Kafka calls final (not retriable) is narrowed down to the
   * records it concerns by sending them one at a time; anything else leaves the topic for later.
   */
  private async send(
    list: OutboxRow[],
  ): Promise<{ sent: number[]; refused: { row: OutboxRow; error: string }[]; retry: boolean }> {
    try {
      await this.opts.publish(list.map(toRecord));
      return { sent: list.map((r) => r.id), refused: [], retry: false };
    } catch (err) {
      if (!isFinalRefusal(err)) return { sent: [], refused: [], retry: true };
    }
    const sent: number[] = [];
    const refused: { row: OutboxRow; error: string }[] = [];
    for (const [i, row] of list.entries()) {
      try {
        await this.opts.publish([toRecord(row)]);
        sent.push(row.id);
      } catch (err) {
        if (!isFinalRefusal(err)) return { sent, refused, retry: i < list.length };
        refused.push({ row, error: errorText(err) });
      }
    }
    return { sent, refused, retry: false };
  }
}

type OutboxRow = {
  id: number;
  change_id: string;
  topic: string;
  record_key: string | null;
  record_value: Buffer;
};

const toRecord = (r: OutboxRow): OutRecord => ({
  topic: r.topic,
  key: r.record_key,
  value: r.record_value,
  headers: { [CHANGE_ID_HEADER]: r.change_id },
});

// Refusals of the records themselves, which no retry changes (a missing topic or a broker that is
// down is not among them: those wait for the topic or the broker).
const FINAL_RECORD_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

/** Kafka refused the records themselves (e.g. MESSAGE_TOO_LARGE), somewhere in the cause chain. */
function isFinalRefusal(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 6; depth++) {
    if (typeof e.type === 'string' && FINAL_RECORD_ERRORS.has(e.type)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

const errorText = (err: unknown): string => {
  const parts: string[] = [];
  for (
    let e = err as { message?: unknown; cause?: unknown } | undefined, d = 0;
    e && d < 5;
    d++, e = e.cause as typeof e
  )
    if (typeof e.message === 'string') parts.push(e.message);
  return parts.join(': ').slice(0, 2_000);
};
