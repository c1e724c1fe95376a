import type { Producer } from './client.js';
import { RetryableError } from '../errors.js';

export interface OutRecord {
  topic: string;
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface PublisherOptions {
  /** How long a flush waits for more records from concurrent callers. */
  lingerMs: number;
  /** Flush at once when this many records are waiting. */
  maxBatchRecords: number;
  /** A caller gets a RetryableError when its records are not acknowledged within this time. */
  timeoutMs: number;
  /**
   * Records accepted but not yet acknowledged, at most. Past it a caller is refused at once
   * (RetryableError): under overload, clients are told to come back instead of queueing until
   * they time out, and memory stays bounded.
   */
  maxPendingRecords?: number;
  /** Observes each flush: records sent and seconds taken. */
  onFlush?: (records: number, seconds: number, ok: boolean) => void;
}

interface Pending {
  records: OutRecord[];
  resolve: () => void;
  reject: (err: Error) => void;
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
    private readonly producer: Producer,
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
    const acked = new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
    });
    this.queued += records.length;
    if (this.queued >= this.opts.maxBatchRecords) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
    return withTimeout(acked, this.opts.timeoutMs);
  }

  /** Sends what is queued now; resolves when every flush so far has settled. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inflight]);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.queued = 0;

    const byTopic = new Map<
      string,
      { key: string | null; value: Buffer; headers?: Record<string, string> }[]
    >();
    for (const p of batch) {
      for (const r of p.records) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push({ key: r.key, value: r.value, headers: r.headers });
      }
    }
    const started = process.hrtime.bigint();
    const count = batch.reduce((n, p) => n + p.records.length, 0);
    const settled = () => {
      this.pending -= count;
    };
    const send = this.producer
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
    void send.finally(() => this.inflight.delete(send));
  }
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RetryableError(`kafka did not acknowledge within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
