/** Offsets stored for one Kafka cluster are not taken for another's (pg/offsets.ts). */
import t from 'tap';
import { Registry } from 'prom-client';
import { createDb } from '../src/pg/gateway.js';
import { fenceOffsetsToCluster, readOffsets } from '../src/pg/offsets.js';
import { config, randomName } from './support.js';

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'offsets-test',
  registry: new Registry(),
});
t.teardown(() => db.end());

t.test('offsets of another cluster are reset to 0; unstamped ones are adopted', async (t) => {
  const group = randomName('group');
  await db.query(
    'test.offsets',
    `INSERT INTO consumer_offsets (consumer_group, topic, kafka_partition, next_offset, kafka_cluster_id)
     VALUES ($1, 't', 0, 40, NULL), ($1, 't', 1, 50, 'cluster-a')`,
    [group],
  );
  t.teardown(() =>
    db.query('test.offsets-clean', 'DELETE FROM consumer_offsets WHERE consumer_group = $1', [group]),
  );
  t.equal(await fenceOffsetsToCluster(db, group, 'cluster-a'), 0, 'the same cluster: nothing reset');
  t.same([...(await readOffsets(db, group, 't'))].sort(), [
    [0, 40],
    [1, 50],
  ]);
  t.equal(await fenceOffsetsToCluster(db, group, 'cluster-b'), 2, 'another cluster: both reset');
  t.same([...(await readOffsets(db, group, 't'))].sort(), [
    [0, 0],
    [1, 0],
  ]);
  const { rows } = await db.query<{ c: string }>(
    'test.offsets-cluster',
    'SELECT DISTINCT kafka_cluster_id AS c FROM consumer_offsets WHERE consumer_group = $1',
    [group],
  );
  t.same(rows, [{ c: 'cluster-b' }], 'and now belong to it');
});
