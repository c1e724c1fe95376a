/** The orders processor process: cdp.orders and the e-commerce tracks of cdp.events -> orders. Wiring only. */
import { configOrExit } from '../../shared/src/config.js';
import { runProcessor } from '../../shared/src/pipeline/run-processor.js';
import { loadOrdersConfig } from './config.js';
import { createOrdersProcessor } from './processor.js';
import { customerChangeFeed } from '../../shared/src/customers/change.js';

const config = configOrExit('orders', () => loadOrdersConfig(process.env));
await runProcessor('orders', config, async (deps) =>
  createOrdersProcessor(deps, config, await customerChangeFeed(deps.codec, config.topicPrefix, 'orders')),
);
