/**
 * Batches that hold only another processor's records have nothing to write, so their offset is
 * stored with the next write (or every few seconds), not in a transaction of its own.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { AvroCodec } from '../src/avro/registry.js';
import { createDb } from '../src/pg/gateway.js';
import { readOffset } from '../src/pg/offsets.js';
import type { ProcessorDefinition } from '../src/pipeline/processor.js';
import { drop, ok } from '../src/pipeline/results.js';
import { batchOf, countOf, harness } from './processor-harness.js';
import { config, randomName } from './support.js';

const db = createDb({ connectionString: config.databaseUrl, service: 'skip-test', registry: new Registry() });
t.teardown(() => db.end());

t.test('a batch of skipped records alone stores no offset; the next write stores it', async (t) => {
  const topic = randomName('test.skip');
  const groupId = randomName('group');
  const writes: string[][] = [];
  const definition: ProcessorDefinition<string, void> = {
    name: 'skip-test',
    groupId,
    topics: [topic],
    dedupScope: 'skip-test',
    decode: async (m) => (m.value!.toString() === 'skip' ? drop('not-mine') : ok(m.value!.toString())),
    async write(_tx, records) {
      writes.push(records.map((r) => r.value));
    },
  };
  const h = await harness(definition, {
    db,
    codec: new AvroCodec(config.schemaRegistryUrl),
    publish: async () => {},
  });
  const skip = (n: number) => Array.from({ length: n }, () => Buffer.from('skip'));

  await h.applier.handle(batchOf(topic, skip(10), 0));
  t.equal(await readOffset(db, groupId, topic, 0), 10, 'the first batch of a partition stores its offset');
  await h.applier.handle(batchOf(topic, skip(10), 10));
  t.equal(await readOffset(db, groupId, topic, 0), 10, 'the next all-skipped batch does not');
  await h.applier.handle(batchOf(topic, [...skip(2), Buffer.from('mine'), ...skip(2)], 20));
  t.equal(await readOffset(db, groupId, topic, 0), 25, 'a batch with something to write stores it, past all');
  t.same(writes, [['mine']]);
  t.equal(await countOf(h.metrics.dropped, { reason: 'not-mine' }), 24);
  // Redelivered now (the partition holds 25 records), it is below the stored offset.
  await h.applier.handle({ ...batchOf(topic, skip(10), 10), highWatermark: 25 });
  t.same(writes, [['mine']], 'nothing written twice');
  t.equal(await countOf(h.metrics.duplicates, { kind: 'offset' }), 10);
  t.equal(await readOffset(db, groupId, topic, 0), 25);
});
