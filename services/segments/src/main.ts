/** The segments processor process: cdp.customer-changes -> segment_memberships -> cdp.segment-changes. Wiring only. */
import { configOrExit } from '../../shared/src/config.js';
import { runProcessor } from '../../shared/src/pipeline/run-processor.js';
import { loadSegmentsConfig } from './config.js';
import { createSegmentsProcessor } from './processor.js';
import { segmentChangeFeed } from './publish.js';

const config = configOrExit('segments', () => loadSegmentsConfig(process.env));
await runProcessor('segments', config, async (deps) =>
  createSegmentsProcessor(deps, config, await segmentChangeFeed(deps.codec, config.topicPrefix, 'segments')),
);
