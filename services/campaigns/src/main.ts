/** The campaigns processor process: cdp.campaign-events -> campaign_sends and the counters. Wiring only. */
import { configOrExit } from '../../shared/src/config.js';
import { runProcessor } from '../../shared/src/pipeline/run-processor.js';
import { loadCampaignsConfig } from './config.js';
import { createCampaignsProcessor } from './processor.js';
import { customerChangeFeed } from '../../shared/src/customers/change.js';

const config = configOrExit('campaigns', () => loadCampaignsConfig(process.env));
await runProcessor('campaigns', config, async (deps) =>
  createCampaignsProcessor(
    deps,
    config,
    await customerChangeFeed(deps.codec, config.topicPrefix, 'campaigns'),
  ),
);
