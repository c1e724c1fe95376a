import { randomUUID } from 'node:crypto';
import type { Queryable } from '../pg/gateway.js';

/** A derived record as a processor hands it to the outbox: already Avro-encoded. */
export interface OutboxRecord {
  topic: string;
  key: string | null;
  value: Buffer;
  /** The id consumers de-duplicate on; defaults to a new UUID. Put it inside the value too. */
  changeId?: string;
}

export interface Outbox {
  /** Inserts the records in the caller's transaction: they exist exactly when the change does. */
  add(records: readonly OutboxRecord[]): Promise<void>;
}

/** Header carrying the change id on every relayed record. */
export const CHANGE_ID_HEADER = 'cdp-change-id';

export function transactionOutbox(tx: Queryable, producer: string): Outbox {
  return {
    async add(records) {
      if (records.length === 0) return;
      await tx.query(
        'outbox.add',
        `INSERT INTO outbox (change_id, topic, record_key, record_value, producer)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[])`,
        [
          records.map((r) => r.changeId ?? randomUUID()),
          records.map((r) => r.topic),
          records.map((r) => r.key),
          records.map((r) => r.value),
          records.map(() => producer),
        ],
      );
    },
  };
}
