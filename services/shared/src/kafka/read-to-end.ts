import { randomBytes } from 'node:crypto';
import { createConsumer, topicOffsets, type Kafka, type KafkaMessage } from './client.js';

export interface ReadToEndOptions {
  /** Read only these partitions, each from this offset; default: every partition from its first record. */
  start?: readonly { partition: number; offset: number }[];
  /** Prefix of the throwaway consumer group's name (it never commits an offset). */
  groupPrefix?: string;
  /** Called after each fetched batch with the records handed out so far and the records in range. */
  onProgress?: (read: number, total: number) => void;
  /** Fails when no batch arrives for this long (a broker that cannot be reached). Default 30 s. */
  idleTimeoutMs?: number;
  /** Bytes fetched per partition at once (memory per fetch); default 4 MiB. */
  fetchBytesPerPartition?: number;
}

/**
 * Hands every record of `topic`, from the start (or `opts.start`) up to where each partition ends
 * NOW, to `each`, in offset order per partition, each offset once; records written after the call
 * began are not read, so the read is bounded. `each` may return 'stop' to end early.
 *
 * The consumer joins a group of its own, named at random, and commits nothing: offsets committed
 * by the services' groups are untouched. The group is deleted when the read is over (should that
 * fail, the broker drops an empty group without offsets at its next offsets clean-up).
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  each: (partition: number, message: KafkaMessage) => Promise<void | 'stop'> | void | 'stop',
  opts: ReadToEndOptions = {},
): Promise<{ read: number }> {
  const partitions = (await topicOffsets(kafka, [topic])).get(topic);
  if (!partitions) throw new Error(`topic ${topic} does not exist`);
  // Per partition: the next offset to hand out, and the end (exclusive) as it is now.
  const next = new Map<number, number>();
  const end = new Map<number, number>();
  for (const p of partitions) {
    const from = opts.start ? opts.start.find((s) => s.partition === p.partition)?.offset : p.low;
    if (from === undefined) continue;
    const start = Math.max(from, p.low);
    if (start < p.high) {
      next.set(p.partition, start);
      end.set(p.partition, p.high);
    }
  }
  const total = [...end].reduce((n, [partition, high]) => n + high - next.get(partition)!, 0);
  let read = 0;
  if (total === 0) return { read };

  // Once settled (done, stopped, failed), batches of other partitions still in flight hand nothing on.
  let settled = false;
  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const finished = new Promise<void>((resolve, reject) => {
    settle = {
      resolve: () => {
        settled = true;
        resolve();
      },
      reject: (err) => {
        settled = true;
        reject(err);
      },
    };
  });
  finished.catch(() => {}); // awaited below; this only keeps an early rejection from being "unhandled"
  const partitionDone = (partition: number) => {
    end.delete(partition);
    if (end.size === 0) settle.resolve();
  };

  const groupId = `${opts.groupPrefix ?? 'read-to-end'}-${randomBytes(6).toString('hex')}`;
  const consumer = createConsumer(kafka, {
    groupId,
    maxWaitTimeInMs: 200,
    maxBytesPerPartition: opts.fetchBytesPerPartition ?? 4 * 1024 * 1024,
    // A tool fails and says so instead of restarting its consumer forever.
    retry: { retries: 5, restartOnFailure: async () => false },
  });
  let lastBatchAt = Date.now();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    lastBatchAt = Date.now();
    const high = end.get(payload.partition);
    // lastOffset also covers batches of transaction markers only, which reach no handler.
    if (high !== undefined && Number(payload.lastOffset) + 1 >= high) partitionDone(payload.partition);
    opts.onProgress?.(read, total);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => settle.reject(payload.error));
  // Only a shortcut: records before the start offsets are skipped below whatever is fetched.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, offset] of next) consumer.seek({ topic, partition, offset: String(offset) });
  });
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
  const idle = setInterval(() => {
    if (Date.now() - lastBatchAt > idleTimeoutMs)
      settle.reject(new Error(`no record of ${topic} arrived for ${idleTimeoutMs / 1000} s`));
  }, 1_000);

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isRunning }) => {
        const high = end.get(batch.partition);
        if (high === undefined) return;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset >= high || !isRunning() || settled) break;
          if (offset < next.get(batch.partition)!) continue; // before the start, or handed out already
          let verdict: void | 'stop';
          try {
            verdict = await each(batch.partition, message);
          } catch (err) {
            settle.reject(err as Error);
            return;
          }
          next.set(batch.partition, offset + 1);
          read++;
          lastBatchAt = Date.now(); // a slow handler is not a silent broker
          if (verdict === 'stop') {
            settle.resolve();
            return;
          }
          if (read % 500 === 0) await heartbeat();
        }
        if (next.get(batch.partition)! >= high) partitionDone(batch.partition);
      },
    });
    await finished;
  } finally {
    clearInterval(idle);
    try {
      await consumer.disconnect();
    } finally {
      await deleteGroup(kafka, groupId);
    }
  }
  return { read };
}

async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // Tidying only: see above.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
