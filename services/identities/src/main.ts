/** The identities processor process: cdp.identities -> customer profiles and merges. Wiring only. */
import { configOrExit } from '../../shared/src/config.js';
import { runProcessor } from '../../shared/src/pipeline/run-processor.js';
import { loadIdentitiesConfig } from './config.js';
import { createIdentitiesProcessor } from './processor.js';

const config = configOrExit('identities', () => loadIdentitiesConfig(process.env));
await runProcessor('identities', config, (deps) => createIdentitiesProcessor(deps, config));
