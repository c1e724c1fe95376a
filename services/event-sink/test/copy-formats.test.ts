/**
 * The binary COPY encoder against the real server: the same rows through text and binary COPY
 * read back identical, including numeric and inet edge cases. Rolled back, so nothing stays.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { config } from '../../shared/test/support.js';
import { mapEventRow, type EventRow } from '../src/mapping/event-row.js';
import { COPY_SQL, copyLine } from '../src/copy-text.js';
import { COPY_BINARY_SQL, copyBinary, numericBinary } from '../src/copy-binary.js';
import { eventRecord } from './fixtures.js';

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'copy-test',
  registry: createRegistry('copy-test'),
});
t.teardown(() => db.end());

t.test('numeric binary layout', async (t) => {
  t.same([...numericBinary('0.00')], [0, 0, 0, 0, 0, 0, 0, 2]);
  // 1234.50 -> digits [1234, 5000], weight 0, dscale 2
  t.same([...numericBinary('1234.50')], [0, 2, 0, 0, 0, 0, 0, 2, 0x04, 0xd2, 0x13, 0x88]);
  // -0.05 -> digits [500], weight -1, negative
  t.same([...numericBinary('-0.05')], [0, 1, 0xff, 0xff, 0x40, 0, 0, 2, 0x01, 0xf4]);
});

const values = ['0.00', '0.05', '-12.30', '99999999.99', '12345678.90', '10000.00', '-0.01', '7.00'];
const ips = [
  '203.0.113.7',
  '::1',
  '2001:db8::1',
  '::ffff:192.0.2.1',
  '2001:db8:85a3::8a2e:370:7334',
  'fe80::1',
  '1::',
  '10.0.0.1',
];

t.test('text and binary COPY store the same rows', async (t) => {
  const customer = await db.query<{ id: string }>(
    'test.customer',
    `INSERT INTO customers (customer_id, first_seen_at) VALUES ($1, now()) RETURNING id`,
    [`copy-${randomUUID()}`],
  );
  const customerId = customer.rows[0]!.id;
  const rows: EventRow[] = values.map((v, i) => {
    const r = mapEventRow(
      eventRecord(
        {
          messageId: randomUUID(),
          propertiesJson: JSON.stringify({ revenue: Number(v), note: 'tab\tnew\nline \\ "q" é 🎉' }),
          event: `Ev ${i} ✓`,
        },
        {
          ip: ips[i]!,
          sessionId: i % 2 ? null : `s-${i}`,
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0',
          page: {
            path: null,
            referrer: null,
            search: null,
            title: 'Ti\\tle',
            url: 'https://x/?utm_source=a',
          },
        },
      ),
      { maxFutureMs: 86_400_000, earliestMs: 0 },
    );
    if (!r.ok) throw new Error(r.errors.join());
    return r.value.row;
  });
  const read = `SELECT message_id, event_type, event_category, event_name, event_properties::text, event_value::text, session_id, page_url, page_title,
                ip_address::text, user_agent, device_type, browser, os, utm_source, occurred_at, data_source, customer_id::text
                FROM customer_events WHERE message_id = ANY($1) ORDER BY message_id`;
  const ids = rows.map((r) => r.messageId);
  const viaText = await inRolledBack((tx) =>
    tx
      .copyFrom(
        't',
        COPY_SQL,
        rows.map((r) => copyLine(r, customerId)),
      )
      .then(() => tx.query('t.read', read, [ids])),
  );
  const viaBinary = await inRolledBack((tx) =>
    tx
      .copyFrom('t', COPY_BINARY_SQL, copyBinary(rows.map((row) => ({ row, customerId }))))
      .then(() => tx.query('t.read', read, [ids])),
  );
  t.equal(viaText.rows.length, values.length);
  t.same(viaBinary.rows, viaText.rows);
  t.same(viaText.rows.map((r) => r.event_value).sort(), [...values].sort());
  await db.query('test.cleanup', 'DELETE FROM customers WHERE id = $1', [customerId]);
});

class Rollback extends Error {
  constructor(readonly result: unknown) {
    super('rollback');
  }
}
async function inRolledBack<T>(
  fn: (tx: Parameters<Parameters<typeof db.transaction>[1]>[0]) => Promise<T>,
): Promise<T> {
  try {
    await db.transaction('test.rollback', async (tx) => {
      await tx.query('t.ensure', 'SELECT ensure_customer_events_partition(now())');
      throw new Rollback(await fn(tx));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.result as T;
    throw err;
  }
  throw new Error('unreachable');
}
