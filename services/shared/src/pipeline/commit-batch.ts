import type { KafkaMessage } from '../kafka/client.js';
import type { Db, Tx } from '../pg/gateway.js';
import { lockOffset, storeOffset } from '../pg/offsets.js';
import { commitIsolatingBadRecords } from './isolate-bad-records.js';

export interface PartitionRef {
  groupId: string;
  topic: string;
  partition: number;
  /** The Kafka cluster the offsets belong to (pg/offsets.ts fenceOffsetsToCluster). */
  clusterId?: string | null;
}

/** What a processor writes: its items, in offset order, each from one Kafka record. */
export interface BatchWriter<T, S> {
  offsetOf(item: T): number;
  messageOf(item: T): KafkaMessage;
  /** Writes items not yet applied (the runtime filtered them under the offset lock) inside `tx`. */
  write(tx: Tx, items: T[]): Promise<S>;
}

export interface CommitOptions {
  /** The transaction's query tag (metrics, pg_stat_activity): `<service>.batch`. */
  tag: string;
  /** Sends records to the dead-letter topic; resolves once Kafka acknowledged them. */
  deadLetter(records: { message: KafkaMessage; reason: string; errors: string[] }[]): Promise<void>;
  /** Failure testing only: runs inside each transaction, after the write, before COMMIT. */
  beforeCommit?: () => Promise<void>;
}

/** The reason of a record PostgreSQL refused because of its data. */
export const REFUSED_BY_DATABASE = 'refused-by-database';

/**
 * The exactly-once commit of one partition batch, for every processor: in ONE transaction the
 * partition's offset row is locked (a zombie instance waits here, then finds the work done), items
 * below the stored offset are skipped, the rest written, and the offset stored past `throughOffset`.
 * Should PostgreSQL refuse the write because of some record's data, the batch is split until that
 * record is found (isolate-bad-records.ts); it is dead-lettered with PostgreSQL's message and the
 * rest commits. Returns the writer's results of the transactions that committed, how many records
 * were refused, and how many the offset lock found already applied by another instance (`fenced`):
 * counts taken from them never include work that was rolled back.
 */
export async function commitPartitionBatch<T, S>(
  db: Db,
  ref: PartitionRef,
  items: readonly T[],
  throughOffset: number,
  writer: BatchWriter<T, S>,
  opts: CommitOptions,
): Promise<{ committed: S[]; refused: number; fenced: number }> {
  const { groupId, topic, partition } = ref;
  const committed: S[] = [];
  let fenced = 0;
  const refused = await commitIsolatingBadRecords(items, throughOffset, {
    offsetOf: (item) => writer.offsetOf(item),
    commit: async (part, through) => {
      const result = await db.transaction(opts.tag, async (tx) => {
        const next = await lockOffset(tx, groupId, topic, partition, ref.clusterId ?? null);
        const todo = part.filter((item) => writer.offsetOf(item) >= next);
        const written = await writer.write(tx, todo);
        if (through + 1 > next) await storeOffset(tx, groupId, topic, partition, through + 1);
        if (opts.beforeCommit) await opts.beforeCommit();
        return { written, skipped: part.length - todo.length };
      });
      committed.push(result.written);
      fenced += result.skipped;
    },
    deadLetter: (item, err) =>
      opts.deadLetter([
        {
          message: writer.messageOf(item),
          reason: REFUSED_BY_DATABASE,
          errors: [`${err.code}: ${err.message}`],
        },
      ]),
  });
  return { committed, refused, fenced };
}
