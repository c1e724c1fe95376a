/** The event sink process: cdp.events -> customer_events, exactly once. Wiring only. */
import { loadSinkConfig } from './config.js';
import { createEventSink } from './sink.js';
import { createSinkMetrics } from './metrics.js';
import { configOrExit } from '../../shared/src/config.js';
import { runProcessor } from '../../shared/src/pipeline/run-processor.js';
import { EARLIEST_EVENT_MS } from '../../shared/src/time/occurred-at.js';
import { customerChangeFeed } from '../../shared/src/customers/change.js';

const config = configOrExit('event-sink', () => loadSinkConfig(process.env));

await runProcessor('event-sink', config, async ({ db, codec, registry }) =>
  createEventSink({
    db,
    codec,
    metrics: createSinkMetrics(registry),
    groupId: config.groupId,
    topic: config.topic,
    limits: { maxFutureMs: config.maxFutureMs, earliestMs: EARLIEST_EVENT_MS },
    copyFormat: config.copyFormat,
    customerMetrics: config.customerMetrics && {
      changes: await customerChangeFeed(codec, config.topicPrefix, 'event-sink'),
    },
  }),
);
