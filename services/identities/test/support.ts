/** Identities tests: the real definition, its `write` called in a real transaction, real PostgreSQL. */
import { Registry } from 'prom-client';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { createDb, type Db, type Tx } from '../../shared/src/pg/gateway.js';
import { transactionOutbox, type Outbox, type OutboxRecord } from '../../shared/src/pipeline/outbox.js';
import type { Decoded, ProcessorDefinition } from '../../shared/src/pipeline/processor.js';
import type { KafkaMessage } from '../../shared/src/kafka/client.js';
import { config, logger, waitFor } from '../../shared/test/support.js';
import type { WriteCounts } from '../src/batch-state.js';
import { mapIdentityRecord, type IdentityInput } from '../src/mapping/identity-input.js';
import { createIdentitiesProcessor } from '../src/processor.js';
import type { CustomerChange } from '../../shared/src/customers/change.js';
import { identityRecord } from './fixtures.js';

export const limits = { maxFutureMs: 24 * 3600_000, earliestMs: Date.UTC(2000, 0, 1) };

export interface Setup {
  db: Db;
  codec: AvroCodec;
  registry: Registry;
  def: ProcessorDefinition<IdentityInput, WriteCounts>;
}

export async function setup(t: { teardown(fn: () => unknown): void }, poolSize = 6): Promise<Setup> {
  const registry = new Registry();
  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'identities-test',
    registry,
    max: poolSize,
  });
  const codec = new AvroCodec(config.schemaRegistryUrl);
  const def = await createIdentitiesProcessor(
    { db, codec, logger, registry },
    { groupId: 'identities-test', topicPrefix: '', maxFutureMs: limits.maxFutureMs },
  );
  t.teardown(() => db.end());
  return { db, codec, registry, def };
}

/** A record through the real mapping; throws if the mapping would dead-letter it. */
export function input(...args: Parameters<typeof identityRecord>): IdentityInput {
  const r = mapIdentityRecord(identityRecord(...args), limits);
  if (!r.ok) throw new Error(`fixture would be dead-lettered: ${r.reason} ${r.errors.join('; ')}`);
  return r.value;
}

let nextOffset = 0;
const decoded = (value: IdentityInput): Decoded<IdentityInput> => ({
  value,
  message: {
    offset: String(nextOffset),
    value: null,
    key: null,
    timestamp: '0',
    attributes: 0,
    headers: {},
  } as KafkaMessage,
  topic: 'cdp.identities',
  partition: 0,
  offset: nextOffset++,
});

/** An outbox that writes like the runtime's and remembers what it was given. */
export function capturingOutbox(tx: Tx, into: OutboxRecord[]): Outbox {
  const inner = transactionOutbox(tx, 'identities');
  return {
    async add(records) {
      await inner.add(records);
      into.push(...records);
    },
  };
}

export interface Written {
  counts: WriteCounts;
  changes: CustomerChange[];
  /** The cdp.customer-changes key of each change. */
  keys: (string | null)[];
}

/** One batch through `write`, committed; the counts it reports and the changes it published. */
export async function writeBatch(s: Setup, values: readonly IdentityInput[]): Promise<Written> {
  const records: OutboxRecord[] = [];
  const counts = await s.db.transaction('identities-test.write', (tx) =>
    s.def.write(tx, values.map(decoded), { outbox: capturingOutbox(tx, records) }),
  );
  s.def.committed?.([counts]);
  // Taken off the table again: no relay of another test run should publish them.
  await s.db.query('identities-test.outbox-cleanup', 'DELETE FROM outbox WHERE change_id = ANY($1::uuid[])', [
    records.map((r) => r.changeId),
  ]);
  const changes = await Promise.all(records.map((r) => s.codec.decode<CustomerChange>(r.value)));
  for (const [i, c] of changes.entries()) {
    // Keyed by customers.id, which a rename (adoption) does not change.
    if (c.changeId !== records[i]!.changeId || records[i]!.key !== c.customerId)
      throw new Error('outbox record and its value disagree on changeId or key');
  }
  return { counts, changes, keys: records.map((r) => r.key) };
}

/** The customers row an external id resolves to now (identities, else customer_id), or undefined. */
export async function customerOf(db: Db, externalId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await db.query<{ row: Record<string, unknown> }>(
    'identities-test.customer-of',
    `SELECT to_jsonb(c) AS row FROM customers c
     WHERE c.id = coalesce((SELECT customer_id FROM customer_identities WHERE external_id = $1),
                           (SELECT id FROM customers WHERE customer_id = $1))`,
    [externalId],
  );
  return rows[0]?.row;
}

/** A counter's value for one label set. */
export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

/** Until some session waits on a lock in a query tagged `tag`. */
export const lockWaitIn = (db: Db, tag: string) =>
  waitFor(`a query tagged ${tag} waiting on a lock`, async () => {
    const { rows } = await db.query<{ n: number }>(
      'identities-test.blocked',
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
      [`%:${tag} */%`],
    );
    return rows[0]!.n > 0;
  });
