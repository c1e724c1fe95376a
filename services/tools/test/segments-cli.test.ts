/**
 * `npm run segments` as a user runs it (node --import tsx services/tools/src/segments.ts), on a
 * private PostgreSQL so the counts are known: check counts and refuses, verify finds a membership
 * that differs from its criteria.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './run-tool.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../shared/test/private-postgres.js';
import { logger } from '../../shared/test/support.js';
import { evaluatePendingSegments } from '../../segments/src/evaluate.js';
import { makeSegment, privateDb, testFeed } from '../../segments/test/support.js';
import type { Db } from '../../shared/src/pg/gateway.js';

let server: PrivatePostgres;
let db: Db;
const dir = mkdtempSync(join(tmpdir(), 'segments-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

t.before(async () => {
  server = await startPrivatePostgres();
  db = privateDb(server.url);
  await db.query(
    'test.customers',
    `INSERT INTO customers (customer_id, first_seen_at, total_page_views)
     VALUES ('a', now(), 0), ('b', now(), 5), ('c', now(), 10)`,
  );
});
t.teardown(async () => {
  await db?.end();
  await server?.destroy();
});

const segments = (...argv: string[]) => runTool('segments', argv, { DATABASE_URL: server.url });

t.test('check: counts what valid criteria hold; refuses the others with the reason', async (t) => {
  const good = file(
    'good.json',
    '{"conditions": [{"field": "total_page_views", "operator": ">=", "value": 5}]}',
  );
  const ok = await segments('check', good, '--at', '2026-12-01T00:00:00Z', '--sql');
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^segments: valid: 2 of 3 customers match at 2026-12-01T00:00:00.000Z\n/);
  t.match(ok.stdout, /segments: sql: SELECT c\.id FROM customers c WHERE .*total_page_views/);

  const typo = await segments(
    'check',
    file('typo.json', '{"conditions": [{"field": "emial", "operator": "=", "value": "x"}]}'),
  );
  t.equal(typo.code, 1);
  t.match(typo.stdout, /segments: refused: conditions\[0\]\.field: unknown field "emial"/);

  const notJson = await segments('check', file('broken.json', '{"conditions": ['));
  t.equal(notJson.code, 1);
  t.match(notJson.stdout, /is not JSON/);

  const missing = await segments('check', join(dir, 'nope.json'));
  t.equal(missing.code, 2, 'a file that cannot be read is a usage error');
  t.match(missing.stderr, /cannot read/);
});

t.test('verify: exit 0 when memberships equal the criteria, 3 when one differs', async (t) => {
  const id = await makeSegment(db, {
    name: 'viewers',
    criteria: { conditions: [{ field: 'total_page_views', operator: '>', value: 0 }] },
  });
  await evaluatePendingSegments({
    db,
    databaseUrl: server.url,
    feed: await testFeed('test-segments-cli.'),
    queryTimeoutMs: 10_000,
    now: () => new Date(),
    logger,
  });
  const same = await segments('verify');
  t.equal(same.code, 0, same.stderr);
  t.match(same.stdout, /every active segment equals its criteria/);

  await db.query('test.tamper', 'UPDATE segment_memberships SET is_active = false WHERE segment_id = $1', [
    id,
  ]);
  const differs = await segments('verify');
  t.equal(differs.code, 3);
  t.match(differs.stdout, new RegExp(`${id} \\(viewers\\): 2 missing, 0 extra members`));
});
