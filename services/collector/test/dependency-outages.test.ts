/**
 * A dependency outage is never the client's error and never a 500: the schema registry or
 * PostgreSQL (the source look-up) unreachable gives 503 with Retry-After, like Kafka does
 * (broker-outage.test.ts). Unreachable means a real refused connection: a port that was just free.
 * When the registry comes back (a TCP forwarder starts on that port) the same request lands.
 */
import t from 'tap';
import { createServer, connect, type Server } from 'node:net';
import { buildApp } from '../src/app.js';
import { loadCollectorConfig } from '../src/config.js';
import { createCollectorMetrics } from '../src/metrics.js';
import { RecordEncoder } from '../src/encoder.js';
import { SourceCache } from '../src/source-cache.js';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createSource, findSourceByKeyHash, revokeSource } from '../../shared/src/sources/store.js';
import { config as testConfig, logger, randomName } from '../../shared/test/support.js';
import { freePort } from '../../shared/test/kafka-broker.js';
import { basic } from './support.js';

/** Forwards 127.0.0.1:`port` to `target`: the dependency "comes back" on the address it had. */
async function forward(port: number, target: URL): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

const db = createDb({
  connectionString: testConfig.databaseUrl,
  service: 'outage-test',
  registry: createRegistry('outage-db'),
});
t.teardown(() => db.end());

async function appWith(opts: { registryUrl: string; databaseUrl: string }) {
  const config = loadCollectorConfig({ LOG_LEVEL: 'silent' });
  const registry = createRegistry(randomName('outage'));
  const sourceDb = createDb({ connectionString: opts.databaseUrl, service: 'outage-test', registry });
  const encoder = new RecordEncoder(new AvroCodec(opts.registryUrl));
  const sources = new SourceCache((hash) => findSourceByKeyHash(sourceDb, hash), 0);
  const published: OutRecord[] = [];
  const app = await buildApp(config, {
    logger,
    registry,
    metrics: createCollectorMetrics(registry),
    isReady: () => encoder.loaded,
    resolveSource: (key) => sources.resolve(key),
    encode: (o) => encoder.encode(o),
    publish: async (records) => void published.push(...records),
  });
  return { app, encoder, published, close: () => Promise.all([app.close(), sourceDb.end()]) };
}

t.test(
  'the schema registry unreachable at start: 503 with Retry-After, then 200 once it is back',
  async (t) => {
    const source = await createSource(db, randomName('outage'));
    t.teardown(() => revokeSource(db, source.name));
    const port = await freePort();
    const c = await appWith({
      registryUrl: `http://127.0.0.1:${port}/apis/ccompat/v7`,
      databaseUrl: testConfig.databaseUrl,
    });
    t.teardown(c.close);
    const send = () =>
      c.app.inject({
        method: 'POST',
        url: '/v1/track',
        headers: { authorization: basic(source.writeKey), 'content-type': 'application/json' },
        payload: { userId: 'u-1', event: 'Outage Probe' },
      });

    await t.rejects(c.encoder.load(), 'the registry is down: the schema ids cannot load');
    const down = await send();
    t.equal(down.statusCode, 503, down.body);
    t.equal(down.headers['retry-after'], '5');
    t.match(down.json(), { success: false, error: 'unavailable' });
    t.equal((await c.app.inject({ url: '/readyz' })).statusCode, 503, 'not ready either');

    const proxy = await forward(port, new URL(testConfig.schemaRegistryUrl));
    t.teardown(() => new Promise((r) => proxy.close(r)));
    await c.encoder.load();
    const up = await send();
    t.equal(up.statusCode, 200, up.body);
    t.equal(c.published.length, 1, 'the event is produced once the registry is back');
  },
);

t.test('PostgreSQL unreachable for the source look-up: 503 with Retry-After, not 401 or 500', async (t) => {
  const port = await freePort();
  const url = new URL(testConfig.databaseUrl);
  url.host = `127.0.0.1:${port}`;
  const c = await appWith({ registryUrl: testConfig.schemaRegistryUrl, databaseUrl: url.toString() });
  t.teardown(c.close);
  await c.encoder.load();
  const res = await c.app.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: basic('some-key-never-seen-before'), 'content-type': 'application/json' },
    payload: { batch: [{ type: 'track', userId: 'u-1', event: 'E' }] },
  });
  t.equal(res.statusCode, 503, res.body);
  t.equal(res.headers['retry-after'], '5');
  t.equal(c.published.length, 0);
});
