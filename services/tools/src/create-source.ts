/**
 * `npm run source:create -- <name>`: creates a source and prints its write key once.
 * `npm run source:revoke -- <name>`: revokes it (collectors notice within their cache TTL).
 */
import { commonConfig, loadConfig } from '../../shared/src/config.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createSource, revokeSource } from '../../shared/src/sources/store.js';
import { runCli } from './cli.js';

const [command, name] = process.argv.slice(2);

await runCli('source', async (say) => {
  if ((command !== 'create' && command !== 'revoke') || !name || !/^[\w.-]{1,100}$/.test(name)) {
    throw new Error('usage: source create|revoke <name>  (name: letters, digits, . _ -, at most 100)');
  }
  const config = loadConfig({ databaseUrl: commonConfig.databaseUrl }, process.env);
  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'source-cli',
    registry: createRegistry('source-cli'),
  });
  try {
    if (command === 'create') {
      const source = await createSource(db, name).catch((err: { code?: string }) => {
        throw err.code === '23505' ? new Error(`a source named ${name} exists already`) : err;
      });
      say(`created source ${source.name} (${source.id})`);
      say('write key (shown once, store it now):');
      process.stdout.write(`${source.writeKey}\n`);
    } else {
      say((await revokeSource(db, name)) ? `revoked ${name}` : `no active source named ${name}`);
    }
  } finally {
    await db.end();
  }
});
