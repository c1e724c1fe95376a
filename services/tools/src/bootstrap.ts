/**
 * One-shot setup run by `make up` (and the docker-compose `bootstrap` service): applies the
 * migrations, creates the topics, registers the Avro schemas and makes sure a development source
 * exists whose key is in .stack/dev-write-key. Every step is idempotent.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { commonConfig, field, loadConfig } from '../../shared/src/config.js';
import { createLogger } from '../../shared/src/logger.js';
import { createKafka, ensureTopics } from '../../shared/src/kafka/client.js';
import { AvroCodec, readSchemaFile } from '../../shared/src/avro/registry.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { migrate } from '../../shared/src/pg/migrate.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { hashWriteKey } from '../../shared/src/sources/write-key.js';
import { findSourceByKeyHash, rotateSourceKey } from '../../shared/src/sources/store.js';
import { repoPath } from '../../shared/src/repo-path.js';
import { topicSpecs, valueSubject } from '../../shared/src/topics.js';
import { runCli } from './cli.js';

const config = loadConfig(
  {
    ...commonConfig,
    devKeyFile: field.string('DEV_WRITE_KEY_FILE', repoPath('.stack', 'dev-write-key')),
  },
  process.env,
);

await runCli('bootstrap', async (say) => {
  const logger = createLogger('bootstrap', config.logLevel === 'info' ? 'warn' : config.logLevel);

  const ran = await migrate(config.databaseUrl, logger);
  say(ran.length > 0 ? `migrations: applied ${ran.join(', ')}` : 'migrations: up to date');

  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'cdp-bootstrap', logger });
  const created = await ensureTopics(kafka, topicSpecs);
  say(created.length > 0 ? `topics: created ${created.join(', ')}` : 'topics: all present');

  const codec = new AvroCodec(config.schemaRegistryUrl);
  for (const spec of topicSpecs) {
    if (!spec.schemaFile) continue;
    const id = await codec.register(valueSubject(spec.topic), await readSchemaFile(spec.schemaFile));
    say(`schema: ${valueSubject(spec.topic)} -> id ${id}`);
  }

  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'bootstrap',
    registry: createRegistry('bootstrap'),
  });
  try {
    const existing = existsSync(config.devKeyFile) ? readFileSync(config.devKeyFile, 'utf8').trim() : '';
    if (existing && (await findSourceByKeyHash(db, hashWriteKey(existing)))) {
      say(`dev source: key in ${config.devKeyFile} is valid`);
    } else {
      const source = await rotateSourceKey(db, 'development');
      mkdirSync(dirname(config.devKeyFile), { recursive: true });
      writeFileSync(config.devKeyFile, source.writeKey + '\n', { mode: 0o600 });
      say(`dev source: new key written to ${config.devKeyFile}`);
    }
  } finally {
    await db.end();
  }
});
