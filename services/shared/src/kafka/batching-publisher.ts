import type { Producer } from './client.js';
import { RetryableError } from '../errors.js';

export interface OutRecord {
  topic: string;
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

/** One produce request: records grouped by topic, acks=all. */
export interface ProduceBatch {
  acks: -1;
  topicMessages: {
    topic: string;
    messages: { key: string | null; value: Buffer; headers?: Record<string, string> }[];
  }[];
}

/**
 * What the publisher sends through: a kafkajs Producer is one, and so is the producer of
 * fast-producer.ts. The promise settles when Kafka acknowledged every record (or failed).
 */
export interface BatchSender {
  sendBatch(batch: ProduceBatch): Promise<unknown>;
}

export interface PublisherOptions {
  /** How long a flush waits for more records from concurrent callers. */
  lingerMs: number;
  /** Flush at once when this many records are waiting; no produce request carries more (unless one caller's records alone do). */
  maxBatchRecords: number;
  /** A caller gets a RetryableError when its records are not acknowledged within this time. */
  timeoutMs: number;
  /**
   * Records accepted but not yet acknowledged, at most. Past it a caller is refused at once
   * (RetryableError): under overload, clients are told to come back instead of queueing until
   * they time out, and memory stays bounded.
   */
  maxPendingRecords?: number;
  /**
   * Produce requests in flight at once, at most (default: no limit, each flush is handed to the
   * producer at once and queues there). With 1, records that arrive while a request is in flight
   * wait here and go together in the next one: fewer, larger requests, and a producer that must
   * not send concurrently (fast-producer.ts) is never asked to.
   */
  maxInFlight?: number;
  /** Observes each flush: records sent and seconds taken. */
  onFlush?: (records: number, seconds: number, ok: boolean) => void;
}

interface Pending {
  records: OutRecord[];
  resolve: () => void;
  reject: (err: Error) => void;
  /** Answered already (timed out): its records are not sent any more if they have not been. */
  done: boolean;
}

/**
 * Sends the records of many concurrent callers in one produce request (acks=all), so throughput
 * does not fall to one round trip per HTTP request. Each caller's records travel together in one
 * flush, and the caller's promise settles only when Kafka acknowledged all of them.
 */
export class BatchingPublisher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private pending = 0;

  constructor(
    private readonly producer: BatchSender | Producer,
    private readonly opts: PublisherOptions,
  ) {}

  /** Records accepted and not yet acknowledged (or failed). */
  get pendingRecords(): number {
    return this.pending;
  }

  publish(records: OutRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const max = this.opts.maxPendingRecords ?? Number.POSITIVE_INFINITY;
    if (this.pending > 0 && this.pending + records.length > max) {
      return Promise.reject(
        new RetryableError(`producer queue full (${this.pending} records waiting for Kafka)`),
      );
    }
    this.pending += records.length;
    let entry!: Pending;
    const acked = new Promise<void>((resolve, reject) => {
      entry = { records, resolve, reject, done: false };
    });
    this.queue.push(entry);
    this.queued += records.length;
    if (this.queued >= this.opts.maxBatchRecords) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
    return this.withTimeout(entry, acked);
  }

  /** Sends what is queued now; resolves when every flush so far has settled. */
  async drain(): Promise<void> {
    for (;;) {
      this.flush();
      if (this.inflight.size === 0) return;
      await Promise.allSettled([...this.inflight]);
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Callers answered already (timed out while waiting here) are not sent: they heard 503.
    if (this.queue.some((p) => p.done)) {
      for (const p of this.queue) {
        if (!p.done) continue;
        this.queued -= p.records.length;
        this.pending -= p.records.length;
      }
      this.queue = this.queue.filter((p) => !p.done);
    }
    const maxInFlight = this.opts.maxInFlight ?? Number.POSITIVE_INFINITY;
    // What does not fit waits for the request in flight to settle (see the finally below).
    while (this.queue.length > 0 && this.inflight.size < maxInFlight) this.send();
  }

  /** Sends the callers at the head of the queue, whole, up to maxBatchRecords (at least one caller). */
  private send(): void {
    let count = 0;
    let take = 0;
    while (take < this.queue.length) {
      const n = this.queue[take]!.records.length;
      if (take > 0 && count + n > this.opts.maxBatchRecords) break;
      count += n;
      take++;
    }
    const batch = this.queue.slice(0, take);
    this.queue = this.queue.slice(take);
    this.queued -= count;

    const byTopic = new Map<string, ProduceBatch['topicMessages'][number]['messages']>();
    for (const p of batch) {
      for (const r of p.records) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push({ key: r.key, value: r.value, headers: r.headers });
      }
    }
    const started = process.hrtime.bigint();
    const settled = () => {
      this.pending -= count;
    };
    const send = (this.producer as BatchSender)
      .sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
      .then(
        () => {
          settled();
          this.opts.onFlush?.(count, seconds(started), true);
          for (const p of batch) p.resolve();
        },
        (err: Error) => {
          settled();
          this.opts.onFlush?.(count, seconds(started), false);
          const retryable = new RetryableError(`kafka did not acknowledge: ${err.message}`, { cause: err });
          for (const p of batch) p.reject(retryable);
        },
      );
    this.inflight.add(send);
    void send.finally(() => {
      this.inflight.delete(send);
      // Records that queued up behind a full maxInFlight go now, together.
      if (this.queue.length > 0 && this.opts.maxInFlight !== undefined) this.flush();
    });
  }

  private withTimeout(entry: Pending, acked: Promise<void>): Promise<void> {
    const ms = this.opts.timeoutMs;
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        entry.done = true;
        reject(new RetryableError(`kafka did not acknowledge within ${ms} ms`));
      }, ms);
    });
    return Promise.race([acked, timeout]).finally(() => {
      clearTimeout(timer);
      entry.done = true;
    });
  }
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
