/**
 * The definition in the shared runtime (BatchApplier, as run-processor.ts wires it): Avro decode,
 * dead letters, (source, messageId) de-duplication, the write, the offsets, the counters.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { Topics, valueSubject } from '../../shared/src/topics.js';
import { logger, randomName } from '../../shared/test/support.js';
import { batchOf, countOf, harness } from '../../shared/test/processor-harness.js';
import { createIdentitiesProcessor } from '../src/processor.js';
import { counterValue, customerOf, limits, setup } from './support.js';
import { identityRecord } from './fixtures.js';
import type { IdentityRecord } from '../src/mapping/identity-record.js';

const s = await setup(t);
const schemaId = await s.codec.register(
  valueSubject(Topics.identities),
  await readSchemaFile('identity.avsc'),
);
const encode = (r: IdentityRecord) => s.codec.encode(schemaId, r);

t.test('decode: Avro to a checked record; what cannot be applied is a dead letter', async (t) => {
  const ok = await s.def.decode(
    { value: await encode(identityRecord({ userId: 'u-x' })) } as never,
    'cdp.identities',
  );
  t.match(ok, { ok: true, value: { kind: 'identify', userId: 'u-x', sourceKey: 'kafka' } });
  // Bytes that are no Avro: the codec's PoisonError, which the runtime dead-letters with its reason
  // (tombstones never reach decode); both are checked through the runtime below.
  await t.rejects(s.def.decode({ value: Buffer.from('{"userId":"u"}') } as never, 'cdp.identities'), {
    name: 'PoisonError',
    reason: 'undecodable',
  });
  const future = await encode(identityRecord({ timestamp: Date.now() + 5 * 86_400_000 }));
  t.match(await s.def.decode({ value: future } as never, 'cdp.identities'), {
    ok: false,
    reason: 'future-timestamp',
  });
  const array = await encode({ ...identityRecord(), traitsJson: '[]' });
  t.match(await s.def.decode({ value: array } as never, 'cdp.identities'), {
    ok: false,
    reason: 'schema-invalid',
  });
  t.same(s.def.topics, ['cdp.identities']);
  t.equal(s.def.dedupScope, 'identities');
});

t.test(
  'through the runtime: applied once, duplicates dropped, poison dead-lettered, counters counted',
  async (t) => {
    const def = await createIdentitiesProcessor(
      { db: s.db, codec: s.codec, logger, registry: s.registry },
      { groupId: randomName('identities-test'), topicPrefix: '', maxFutureMs: limits.maxFutureMs },
    );
    const published: OutRecord[] = [];
    const h = await harness(def, {
      db: s.db,
      codec: s.codec,
      publish: async (r) => void published.push(...r),
    });
    const [user, anon] = [randomName('user'), randomName('anon')];
    const messageId = randomUUID();
    const values: (Buffer | null)[] = [
      await encode(
        identityRecord({ userId: null, anonymousId: anon, messageId: randomUUID(), traits: { plan: 'a' } }),
      ),
      await encode(
        identityRecord({
          userId: user,
          anonymousId: anon,
          messageId,
          sourceId: 'src',
          traits: { email: 'r@x' },
        }),
      ),
      Buffer.from('not avro'),
      await encode(identityRecord({ userId: user, messageId, sourceId: 'src', traits: { email: 'dup@x' } })),
      null, // a tombstone
    ];
    const batch = () => {
      const b = batchOf('cdp.identities', values as Buffer[]);
      for (const [i, m] of b.messages.entries()) m.value = values[i]!;
      return b;
    };
    const applied = await counterValue(s.registry, 'identities_records_applied_total', { type: 'identify' });
    await h.applier.handle(batch());
    const c = (await customerOf(s.db, anon))!;
    t.equal(c.customer_id, user);
    t.equal(c.email, 'r@x', 'the duplicate messageId was dropped');
    t.same(c.custom_attributes, { plan: 'a' });
    t.equal(await countOf(h.metrics.duplicates, { kind: 'message' }), 1);
    t.equal(await countOf(h.metrics.deadLettered, { reason: 'undecodable' }), 2, 'not Avro; a tombstone');
    t.equal(published.length, 2, 'two dead letters');
    t.equal(
      await counterValue(s.registry, 'identities_records_applied_total', { type: 'identify' }),
      applied + 2,
    );
    // Changes are keyed by customers.id.
    const outbox = await s.db.query<{ n: number }>(
      'identities-test.outbox',
      `SELECT count(*)::int AS n FROM outbox WHERE producer = 'identities' AND record_key = $1`,
      [c.id],
    );
    t.ok(outbox.rows[0]!.n <= 1, 'one change for the customer (unless a relay already took it)');
    await s.db.query(
      'identities-test.outbox-cleanup',
      `DELETE FROM outbox WHERE producer = 'identities' AND record_key = $1`,
      [c.id],
    );

    // The same records again at the same offsets: skipped by the stored offset before any work.
    await h.applier.handle(batch());
    t.equal(await countOf(h.metrics.duplicates, { kind: 'offset' }), 5);
  },
);
