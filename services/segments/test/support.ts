/**
 * Segments tests: a private PostgreSQL (a running stack's segments processor would otherwise
 * evaluate and publish the test's segments too), customer-change records as the topic carries
 * them, and the processor's definition with an injectable clock.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { customerChangeFeed, type CustomerChange } from '../../shared/src/customers/change.js';
import { createDb, type Db, type Queryable } from '../../shared/src/pg/gateway.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../shared/test/private-postgres.js';
import { config, logger } from '../../shared/test/support.js';
import { createSegmentsProcessor } from '../src/processor.js';
import { segmentChangeFeed, type SegmentChangeFeed } from '../src/publish.js';

export const codec = new AvroCodec(config.schemaRegistryUrl);

export function privateDb(url: string): Db {
  return createDb({ connectionString: url, service: 'segments-test', registry: new Registry() });
}

/** A private PostgreSQL for the test file, started before its tests and destroyed after. */
export function usePrivatePostgres(tap: {
  before(fn: () => Promise<void>): void;
  teardown(fn: () => Promise<void>): void;
}): { readonly db: Db; readonly url: string } {
  let server: PrivatePostgres | undefined;
  let db: Db | undefined;
  tap.before(async () => {
    server = await startPrivatePostgres();
    db = privateDb(server.url);
  });
  tap.teardown(async () => {
    await db?.end();
    await server?.destroy();
  });
  return {
    get db() {
      return db!;
    },
    get url() {
      return server!.url;
    },
  };
}

let owner: Promise<string> | undefined;
export function platformUser(db: Queryable): Promise<string> {
  owner ??= db
    .query<{ id: string }>(
      'test.owner',
      `INSERT INTO platform_users (email, password_hash, name, role)
       VALUES ('segments-test@example.test', 'x', 'Segments test', 'viewer')
       ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    )
    .then((r) => r.rows[0]!.id);
  return owner;
}

export async function makeSegment(
  db: Queryable,
  s: { name: string; criteria: unknown; type?: string; active?: boolean; sqlQuery?: string },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'test.segment',
    `INSERT INTO segments (name, segment_type, is_active, criteria, sql_query, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [
      s.name,
      s.type ?? 'dynamic',
      s.active ?? true,
      // { json }: criteria given as JSON text (deeper than JSON.stringify can go)
      typeof s.criteria === 'object' && s.criteria !== null && 'json' in s.criteria
        ? (s.criteria as { json: string }).json
        : JSON.stringify(s.criteria),
      s.sqlQuery ?? null,
      await platformUser(db),
    ],
  );
  return rows[0]!.id;
}

/** An encoder for cdp.customer-changes values. */
export async function changeEncoder(
  prefix: string,
): Promise<(customerId: string, committedAt?: number) => Buffer> {
  const feed = await customerChangeFeed(codec, prefix, 'test');
  return (customerId, committedAt = Date.now()) => {
    const change: CustomerChange = {
      changeId: randomUUID(),
      customerId,
      externalId: customerId,
      kind: 'UPDATED',
      changes: [],
      mergedFrom: [],
      mergedFromIds: [],
      causedAt: committedAt,
      committedAt,
      producer: 'test',
    };
    return feed.encode(change);
  };
}

export async function testFeed(prefix: string): Promise<SegmentChangeFeed> {
  return segmentChangeFeed(codec, prefix, 'segments-test');
}

export function definition(
  db: Db,
  prefix: string,
  feed: SegmentChangeFeed,
  now: () => Date,
  groupId = `${prefix}segments`,
) {
  return createSegmentsProcessor(
    { db, codec, registry: new Registry(), logger },
    {
      groupId,
      topicPrefix: prefix,
      pollMs: 200,
      queryTimeoutMs: 10_000,
      statsIntervalMs: 200,
      databaseUrl: '',
    },
    feed,
    now,
  );
}

/** Active members of each of `segments`, as sorted `segment|customer` keys. */
export async function activeMembers(db: Queryable, segments: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>(
    'test.members',
    `SELECT segment_id || '|' || customer_id AS key FROM segment_memberships
     WHERE segment_id = ANY ($1::uuid[]) AND is_active IS NOT FALSE ORDER BY 1`,
    [segments],
  );
  return rows.map((r) => r.key);
}
