import { runner } from 'node-pg-migrate';
import type { Logger } from '../logger.js';
import { repoPath } from '../repo-path.js';

/**
 * Applies the SQL migrations in sql/migrations in order (node-pg-migrate: a lock, a table of
 * what ran, each migration in a transaction). Applying again is a no-op.
 */
export async function migrate(databaseUrl: string, logger: Logger): Promise<string[]> {
  const ran = await runner({
    databaseUrl,
    dir: repoPath('sql', 'migrations'),
    migrationsTable: 'pgmigrations',
    direction: 'up',
    checkOrder: true,
    singleTransaction: true,
    log: (msg: string) => logger.debug(msg),
  });
  return ran.map((m) => m.name);
}
