/**
 * Contract invariant 3 as a seeded property, on a private PostgreSQL: customers changed at random
 * (each change followed, sooner or later, by its cdp.customer-changes record), profiles merged
 * (rows moved, the merged customer deleted), a segment's criteria edited, the processor restarted,
 * records replayed (the same records again, and new records for unchanged customers). Afterwards
 * every segment's active members equal its criteria evaluated from scratch, each membership kept
 * its first qualification, and the transitions published to cdp.segment-changes alternate
 * entered/exited per membership, each once, ending in the membership's state.
 * FUZZ_SEED / FUZZ_RUNS to vary it.
 */
import t from 'tap';
import fc from 'fast-check';
import { moveCustomerRows } from '../../identities/src/db/move-rows.js';
import type { Db } from '../../shared/src/pg/gateway.js';
import { membershipDifferences } from '../../shared/src/segments/check.js';
import { Topics } from '../../shared/src/topics.js';
import { batchOf, harness } from '../../shared/test/processor-harness.js';
import { logger, randomName } from '../../shared/test/support.js';
import { evaluatePendingSegments } from '../src/evaluate.js';
import {
  activeMembers,
  changeEncoder,
  codec,
  definition,
  makeSegment,
  usePrivatePostgres,
  testFeed,
} from './support.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
const CUSTOMERS = 8;
const T = Date.UTC(2026, 5, 1, 12);
const HOUR = 3_600_000;

const pg = usePrivatePostgres(t);

const VALUES: Record<string, readonly unknown[]> = {
  country: ['US', 'CA', 'DE', null],
  total_revenue: [0, 50, 100, 150.5],
  engagement_score: [0, 20, 40, 60, 80],
  tags: [[], ['vip'], ['new', 'vip'], null],
  custom_attributes: [{}, { plan: 'pro' }, { plan: 'team' }, { plan: 5 }, null],
  last_seen_at: [new Date(T - HOUR), new Date(T - 6 * 24 * HOUR), new Date(T - 8 * 24 * HOUR), null],
  email: ['a@example.com', 'b@EXAMPLE.COM', 'c@other.org', null],
};
const COLUMNS = Object.keys(VALUES);

const criteriaOf = (prefix: string, inner: unknown, us = 'US') =>
  [
    { conditions: [{ field: 'country', operator: '=', value: us }] },
    {
      logic: 'OR',
      conditions: [{ field: 'total_revenue', operator: '>=', value: 100, type: 'number' }],
      nested_conditions: [{ conditions: [{ field: 'tags', operator: 'contains', value: 'vip' }] }],
    },
    {
      conditions: [
        { field: 'custom_attributes.plan', operator: 'in', value: ['pro', 'team'], type: 'string' },
      ],
    },
    { conditions: [{ field: 'last_seen_at', operator: 'within_last', value: '7 days' }] },
    {
      conditions: [
        { field: 'engagement_score', operator: 'between', value: [20, 60] },
        { field: 'country', operator: '!=', value: 'CA' },
      ],
    },
    { conditions: [{ field: 'email', operator: 'ends_with', value: '@example.com' }] },
  ].map((c) => ({
    logic: 'AND',
    conditions: [{ field: 'customer_id', operator: 'starts_with', value: prefix }],
    nested_conditions: [c],
  }))[inner as number];

type Step =
  | { kind: 'update'; customer: number; column: number; value: number }
  | { kind: 'flush' }
  | { kind: 'merge'; survivor: number; merged: number }
  | { kind: 'edit' }
  | { kind: 'restart' }
  | { kind: 'replay' };

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      customer: fc.nat({ max: CUSTOMERS - 1 }),
      column: fc.nat({ max: COLUMNS.length - 1 }),
      value: fc.nat({ max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'flush' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('merge' as const),
      survivor: fc.nat({ max: CUSTOMERS - 1 }),
      merged: fc.nat({ max: CUSTOMERS - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'edit' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'replay' as const }) },
);

const arbPlan = fc.record({
  start: fc.array(fc.array(fc.nat({ max: 4 }), { minLength: COLUMNS.length, maxLength: COLUMNS.length }), {
    minLength: CUSTOMERS,
    maxLength: CUSTOMERS,
  }),
  steps: fc.array(arbStep, { minLength: 10, maxLength: 60 }),
});

t.test(
  'invariant 3 after random changes, merges, edits, restarts and replays',
  { timeout: 240_000 },
  async (t) => {
    const db = pg.db;
    const now = () => new Date(T);
    // One topic for every run (a new one would register a new dead-letter subject each time),
    // a consumer group and customer ids of each run's own.
    const topicPrefix = `${randomName('test-seg')}.`;
    const topic = topicPrefix + Topics.customerChanges;
    const feed = await testFeed(topicPrefix);
    const encode = await changeEncoder(topicPrefix);
    await fc.assert(
      fc.asyncProperty(arbPlan, async (plan) => {
        const prefix = `${randomName('run')}.`;
        const group = `${topicPrefix}${prefix}segments`;
        const pick = (column: string, i: number) => {
          const values = VALUES[column]!;
          return values[i % values.length] ?? null;
        };

        const ids: (string | null)[] = [];
        for (let i = 0; i < CUSTOMERS; i++) {
          const row = Object.fromEntries(COLUMNS.map((c, k) => [c, pick(c, plan.start[i]![k]!)]));
          const { rows } = await db.query<{ id: string }>(
            'test.customer',
            `INSERT INTO customers (customer_id, first_seen_at, ${COLUMNS.join(', ')})
           VALUES ($1, $2, ${COLUMNS.map((_, k) => `$${k + 3}`).join(', ')}) RETURNING id`,
            [`${prefix}c${i}`, new Date(T - 30 * 24 * HOUR), ...COLUMNS.map((c) => jsonable(row[c]))],
          );
          ids.push(rows[0]!.id);
        }
        const segments: string[] = [];
        for (let k = 0; k < 6; k++)
          segments.push(await makeSegment(db, { name: `${prefix}s${k}`, criteria: criteriaOf(prefix, k) }));
        const evaluate = () =>
          evaluatePendingSegments({ db, databaseUrl: pg.url, feed, queryTimeoutMs: 10_000, now, logger });
        await evaluate();
        const firstQualified = await firstQualifications(db, segments);

        let h = await harness(definition(db, topicPrefix, feed, now, group), {
          db,
          codec,
          publish: async () => {},
        });
        let offset = 0;
        let pending: Buffer[] = [];
        const sent: Buffer[] = [];
        const flush = async () => {
          if (pending.length === 0) return;
          await h.applier.handle(batchOf(topic, pending, offset));
          offset += pending.length;
          sent.push(...pending);
          pending = [];
        };
        let edited = false;

        for (const step of plan.steps) {
          if (step.kind === 'update') {
            const id = ids[step.customer];
            if (!id) continue;
            const column = COLUMNS[step.column]!;
            await db.query('test.update', `UPDATE customers SET ${column} = $2 WHERE id = $1`, [
              id,
              jsonable(pick(column, step.value)),
            ]);
            pending.push(encode(id));
          } else if (step.kind === 'flush') {
            await flush();
          } else if (step.kind === 'merge') {
            const survivor = ids[step.survivor];
            const merged = ids[step.merged];
            if (!survivor || !merged || survivor === merged) continue;
            await db.transaction('test.merge', async (tx) => {
              await moveCustomerRows(tx, merged, survivor);
              await tx.query('test.merge.delete', 'DELETE FROM customers WHERE id = $1', [merged]);
            });
            ids[step.merged] = null;
            pending.push(encode(survivor));
          } else if (step.kind === 'edit') {
            edited = !edited;
            await db.query('test.edit', 'UPDATE segments SET criteria = $2 WHERE id = $1', [
              segments[0],
              JSON.stringify(criteriaOf(prefix, 0, edited ? 'DE' : 'US')),
            ]);
            await evaluate();
          } else if (step.kind === 'restart') {
            await flush();
            h = await harness(definition(db, topicPrefix, feed, now, group), {
              db,
              codec,
              publish: async () => {},
            });
          } else {
            await flush();
            // The same records at new offsets (a producer's retry), then fresh records for everyone.
            pending = [
              ...sent.slice(-5),
              ...ids.filter((id): id is string => id !== null).map((id) => encode(id)),
            ];
            await flush();
          }
        }
        await flush();

        const differences = (await membershipDifferences(db, now())).filter((d) =>
          segments.includes(d.segmentId),
        );
        t.same(differences, [], 'memberships equal the criteria evaluated from scratch');

        const kept = await firstQualifications(db, segments);
        for (const [key, at] of firstQualified)
          if (kept.has(key)) t.equal(kept.get(key), at, `first_qualified_at kept: ${key}`);

        const feedErrors = await feedViolations(db, feed.topic, segments);
        t.same(feedErrors, [], 'each transition published once, alternating, ending in the membership state');
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  },
);

/** jsonb columns take JSON text; the others their value. */
function jsonable(v: unknown): unknown {
  return v !== null && typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v)
    ? JSON.stringify(v)
    : v;
}

async function firstQualifications(db: Db, segments: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ key: string; at: Date }>(
    'test.first-qualified',
    `SELECT segment_id || '|' || customer_id AS key, first_qualified_at AS at FROM segment_memberships
     WHERE segment_id = ANY ($1::uuid[])`,
    [segments],
  );
  return new Map(rows.map((r) => [r.key, r.at.getTime()]));
}

async function feedViolations(db: Db, topic: string, segments: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ change_id: string; record_value: Buffer }>(
    'test.outbox',
    'SELECT change_id, record_value FROM outbox WHERE topic = $1 ORDER BY id',
    [topic],
  );
  const errors: string[] = [];
  const seen = new Set<string>();
  const last = new Map<string, string>();
  for (const row of rows) {
    const v = (await codec.decode(row.record_value)) as {
      changeId: string;
      segmentId: string;
      customerId: string;
      change: string;
    };
    if (!segments.includes(v.segmentId)) continue; // an earlier run's
    if (v.changeId !== row.change_id) errors.push(`changeId ${v.changeId} != outbox ${row.change_id}`);
    if (seen.has(v.changeId)) errors.push(`changeId ${v.changeId} twice`);
    seen.add(v.changeId);
    const key = `${v.segmentId}|${v.customerId}`;
    const previous = last.get(key) ?? 'EXITED';
    if (previous === v.change) errors.push(`${key}: ${v.change} after ${previous}`);
    last.set(key, v.change);
  }
  const active = new Set(await activeMembers(db, segments));
  for (const [key, change] of last)
    if ((change === 'ENTERED') !== active.has(key))
      errors.push(`${key}: last ${change}, active ${active.has(key)}`);
  for (const key of active) if (!last.has(key)) errors.push(`${key}: active without an ENTERED`);
  return errors;
}
