/**
 * `npm run dlq -- list | show | replay`: an operator's look into the dead-letter topics, and the
 * way back out of them (see README, "Dead letters"). Wiring only; the commands are in dlq/.
 * Output on stdout, progress and logs on stderr; exit 2 on bad arguments, 1 on a failure.
 */
import { commonConfig, loadConfig } from '../../shared/src/config.js';
import { createLogger } from '../../shared/src/logger.js';
import { createKafka } from '../../shared/src/kafka/client.js';
import { registerCodecs } from '../../shared/src/kafka/codecs.js';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { consumedTopics } from '../../shared/src/topics.js';
import { runCli } from './cli.js';
import { USAGE, parseDlqArgs } from './dlq/args.js';
import { runDlq } from './dlq/commands.js';
import { terminalSafe } from './dlq/format.js';

// `dlq list | head`: a reader that has seen enough is not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

await runCli('dlq', async () => {
  const config = loadConfig(
    {
      kafkaBrokers: commonConfig.kafkaBrokers,
      schemaRegistryUrl: commonConfig.schemaRegistryUrl,
      logLevel: commonConfig.logLevel,
      topicPrefix: commonConfig.topicPrefix,
    },
    process.env,
  );
  // Arguments first: a usage error needs no connection.
  const command = parseDlqArgs(process.argv.slice(2), {
    now: Date.now(),
    inputTopics: consumedTopics.map((t) => config.topicPrefix + t),
  });
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  // A failure ends in one line on stderr; the Kafka client's own logs (JSON, on stderr) only when
  // asked for with LOG_LEVEL=warn or debug (the default, info, keeps them out).
  const logger = createLogger('dlq', config.logLevel === 'info' ? 'silent' : config.logLevel, 'stderr');
  registerCodecs();
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'cdp-dlq-tool', logger, retries: 3 });
  await runDlq(command, {
    kafka,
    codec: new AvroCodec(config.schemaRegistryUrl),
    out: (line) => process.stdout.write(`${terminalSafe(line)}\n`),
    progress: (line) => process.stderr.write(`dlq: ${terminalSafe(line)}\n`),
  });
});
