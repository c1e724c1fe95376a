import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadCollectorConfig } from '../src/config.js';
import { createCollectorMetrics } from '../src/metrics.js';
import type { Outgoing } from '../src/mapping/segment.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createLogger } from '../../shared/src/logger.js';
import { PoisonError } from '../../shared/src/errors.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { repoPath } from '../../shared/src/repo-path.js';
import { topicSpecs } from '../../shared/src/topics.js';

export const WRITE_KEY = 'test-write-key-0123456789abcdef';
export const SOURCE = { id: '11111111-1111-4111-8111-111111111111', name: 'test' };
export const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** The Avro types of schemas/*.avsc, so in-process tests encode exactly what Kafka would carry. */
const types = new Map(
  topicSpecs
    .filter((s) => s.schemaFile && !s.topic.endsWith('.dlq'))
    .map((s) => [
      s.topic,
      avro.Type.forSchema(JSON.parse(readFileSync(repoPath('schemas', s.schemaFile!), 'utf8'))),
    ]),
);

export interface Harness {
  app: FastifyInstance;
  published: { topic: string; key: string | null; value: Record<string, unknown> }[];
  failPublish: (err?: Error) => void;
}

/** The collector app in-process, with Avro encoding done locally and Kafka replaced by a capture. */
export async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const config = loadCollectorConfig({ LOG_LEVEL: 'silent', ...env });
  const registry = createRegistry('collector-test');
  const published: Harness['published'] = [];
  let publishError: Error | undefined;
  const app = await buildApp(config, {
    logger: createLogger('collector-test', 'silent'),
    registry,
    metrics: createCollectorMetrics(registry),
    isReady: () => true,
    resolveSource: async (key) => (key === WRITE_KEY ? SOURCE : undefined),
    encode: (o: Outgoing): OutRecord => {
      const type = types.get(o.topic)!;
      const errors: string[] = [];
      if (!type.isValid(o.value, { errorHook: (path) => errors.push(path.join('.')) })) {
        throw new PoisonError('schema-invalid', `invalid at ${errors.join(', ')}`);
      }
      return { topic: o.topic, key: o.key, value: type.toBuffer(o.value) };
    },
    publish: async (records) => {
      if (publishError) throw publishError;
      for (const r of records)
        published.push({ topic: r.topic, key: r.key, value: types.get(r.topic)!.fromBuffer(r.value) });
    },
  });
  return { app, published, failPublish: (err) => (publishError = err) };
}
