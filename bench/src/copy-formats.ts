/**
 * Text vs binary COPY for the sink's rows: encode + COPY of the same batch into customer_events,
 * alternating formats, each run rolled back so the table does not grow. Prints rows/s medians.
 * `node dist/bench/src/copy-formats.js [rows] [runs]`
 */
import { randomUUID } from 'node:crypto';
import { commonConfig, loadConfig } from '../../services/shared/src/config.js';
import { createDb, type Tx } from '../../services/shared/src/pg/gateway.js';
import { createRegistry } from '../../services/shared/src/metrics/registry.js';
import { mapEventRow, type EventRow } from '../../services/event-sink/src/mapping/event-row.js';
import type { EventRecord } from '../../services/event-sink/src/mapping/event-record.js';
import { COPY_SQL, copyLine } from '../../services/event-sink/src/copy-text.js';
import { COPY_BINARY_SQL, copyBinary } from '../../services/event-sink/src/copy-binary.js';
import { median } from './stats.js';

export interface FormatResult {
  rows: number;
  runs: number;
  textRowsPerSecond: number[];
  binaryRowsPerSecond: number[];
}

/** Realistic track/page events: context, UTM, properties of a few hundred bytes. */
export function sampleRecord(i: number, now = Date.now()): EventRecord {
  const page = i % 3 === 0;
  return {
    messageId: randomUUID(),
    sourceId: '00000000-0000-4000-8000-00000000bench',
    type: page ? 'PAGE' : 'TRACK',
    event: page ? null : ['Product Viewed', 'Product Added', 'Order Completed', 'Signed Up'][i % 4]!,
    name: page ? 'Product page' : null,
    category: null,
    userId: `bench-user-${i % 1000}`,
    anonymousId: `anon-${i % 1500}`,
    timestamp: now - (i % 5000),
    sentAt: now - (i % 5000) + 20,
    receivedAt: now,
    propertiesJson: JSON.stringify({
      sku: `SKU-${i % 200}`,
      price: (i % 100) + 0.99,
      revenue: i % 4 === 2 ? 42.5 : undefined,
      currency: 'EUR',
      list: ['a', 'b'],
    }),
    context: {
      ip: `203.0.113.${i % 250}`,
      userAgent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      locale: 'fr-FR',
      timezone: 'Europe/Paris',
      sessionId: `sess-${i % 3000}`,
      page: {
        path: '/p/1',
        referrer: 'https://www.google.com/',
        search: '?utm_source=news',
        title: 'Product 1',
        url: 'https://shop.example/p/1?utm_source=news&utm_medium=email',
      },
      campaign: { name: 'black-friday', source: 'news', medium: 'email', term: null, content: null },
      device: null,
      os: null,
      screen: { width: 1920, height: 1080, density: 1 },
      location: { country: 'FR', region: null, city: 'Paris', latitude: null, longitude: null },
      library: { name: 'analytics.js', version: '5.0.0' },
      extraJson: null,
    },
  };
}

export async function measureCopyFormats(
  databaseUrl: string,
  rows: number,
  runs: number,
  say = (_: string) => {},
): Promise<FormatResult> {
  const db = createDb({
    connectionString: databaseUrl,
    service: 'bench-copy',
    registry: createRegistry('bench-copy'),
  });
  try {
    const customer = await db.query<{ id: string }>(
      'bench.customer',
      `INSERT INTO customers (customer_id, first_seen_at) VALUES ($1, now()) RETURNING id`,
      [`bench-copy-${randomUUID()}`],
    );
    const customerId = customer.rows[0]!.id;
    await db.query('bench.partition', 'SELECT ensure_customer_events_partition(now())');
    const mapped: EventRow[] = [];
    for (let i = 0; i < rows; i++) {
      const r = mapEventRow(sampleRecord(i), { maxFutureMs: 86_400_000, earliestMs: 0 });
      if (r.ok) mapped.push(r.value.row);
    }
    const result: FormatResult = {
      rows: mapped.length,
      runs,
      textRowsPerSecond: [],
      binaryRowsPerSecond: [],
    };
    const once = async (format: 'text' | 'binary') => {
      const start = process.hrtime.bigint();
      await rolledBack(db, async (tx) => {
        const n =
          format === 'text'
            ? await tx.copyFrom(
                'bench.copy-text',
                COPY_SQL,
                mapped.map((row) => copyLine(row, customerId)),
              )
            : await tx.copyFrom(
                'bench.copy-binary',
                COPY_BINARY_SQL,
                copyBinary(mapped.map((row) => ({ row, customerId }))),
              );
        if (n !== mapped.length) throw new Error(`COPY wrote ${n} of ${mapped.length}`);
      });
      return mapped.length / (Number(process.hrtime.bigint() - start) / 1e9);
    };
    await once('text'); // warm-up: plans, caches, JIT
    await once('binary');
    for (let r = 0; r < runs; r++) {
      result.textRowsPerSecond.push(await once('text'));
      result.binaryRowsPerSecond.push(await once('binary'));
      say(
        `copy formats run ${r + 1}/${runs}: text ${Math.round(result.textRowsPerSecond.at(-1)!)} rows/s, binary ${Math.round(result.binaryRowsPerSecond.at(-1)!)} rows/s`,
      );
    }
    await db.query('bench.cleanup', 'DELETE FROM customers WHERE id = $1', [customerId]);
    return result;
  } finally {
    await db.end();
  }
}

async function rolledBack(db: ReturnType<typeof createDb>, fn: (tx: Tx) => Promise<void>): Promise<void> {
  const marker = new Error('rollback');
  await db
    .transaction('bench.rollback', async (tx) => {
      await fn(tx);
      throw marker;
    })
    .catch((err) => {
      if (err !== marker) throw err;
    });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig(commonConfig, process.env);
  const rows = Number(process.argv[2] ?? 20_000);
  const runs = Number(process.argv[3] ?? 5);
  const r = await measureCopyFormats(config.databaseUrl, rows, runs, (l) => console.log(l));
  const text = median(r.textRowsPerSecond);
  const binary = median(r.binaryRowsPerSecond);
  console.log(
    `median of ${runs} runs x ${r.rows} rows: text ${Math.round(text)} rows/s, binary ${Math.round(binary)} rows/s, binary/text ${(binary / text).toFixed(2)}`,
  );
}
