import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../logger.js';
import { repoPath } from '../repo-path.js';

const MIGRATIONS_TABLE = 'pgmigrations';
const CHECKSUMS_TABLE = 'pgmigrations_checksums';

/**
 * Applies the SQL migrations in sql/migrations in order (node-pg-migrate: a lock, a table of
 * what ran, each migration in a transaction); applying again is a no-op. node-pg-migrate does
 * not notice a migration edited after it ran, so we keep a checksum of each applied file and
 * refuse to go on when one changed: a schema that differs from its files is worse than a stop.
 */
export async function migrate(
  databaseUrl: string,
  logger: Logger,
  dir = repoPath('sql', 'migrations'),
): Promise<string[]> {
  const files = await checksums(dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${CHECKSUMS_TABLE} (name text PRIMARY KEY, sha256 char(64) NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`,
    );
    const recorded = await client.query<{ name: string; sha256: string }>(
      `SELECT name, sha256 FROM ${CHECKSUMS_TABLE}`,
    );
    const changed = recorded.rows
      .filter((r) => files.has(r.name) && files.get(r.name) !== r.sha256)
      .map((r) => r.name);
    if (changed.length > 0) {
      throw new Error(
        `applied migrations were edited afterwards: ${changed.join(', ')}; add a new migration instead`,
      );
    }

    const ran = await runner({
      dbClient: client,
      dir,
      migrationsTable: MIGRATIONS_TABLE,
      direction: 'up',
      checkOrder: true,
      singleTransaction: true,
      log: (msg: string) => logger.debug(msg),
    });

    const applied = await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    for (const { name } of applied.rows) {
      const sha = files.get(name);
      if (sha) {
        await client.query(
          `INSERT INTO ${CHECKSUMS_TABLE} (name, sha256) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
          [name, sha],
        );
      }
    }
    return ran.map((m) => m.name);
  } finally {
    await client.end();
  }
}

/** Migration name (file name without .sql, as node-pg-migrate records it) -> SHA-256 of its text. */
async function checksums(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()) {
    const text = await readFile(join(dir, file));
    out.set(file.slice(0, -'.sql'.length), createHash('sha256').update(text).digest('hex'));
  }
  return out;
}
