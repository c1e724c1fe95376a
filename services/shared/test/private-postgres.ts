/**
 * A private PostgreSQL server for tests that stop or crash the database: never the shared one,
 * which other tests use at the same time. initdb into a temp dir (as the `postgres` OS user when
 * we are root: initdb refuses root), its own port, trust auth, database `cdp` with the migrations.
 *
 *   const pg = await startPrivatePostgres();   // initialised, started, migrated
 *   pg.url                                     // for DATABASE_URL
 *   await pg.stop('immediate');                // a crash: no checkpoint, clients cut off
 *   await pg.start();                          // recovery, same port and data
 *   await pg.destroy();
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/pg/migrate.js';
import { freePort } from './kafka-broker.js';
import { logger, waitFor } from './support.js';

const run = promisify(execFile);

export interface PrivatePostgres {
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  destroy(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (install postgresql)');
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'private-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  // initdb and the server refuse to run as root: run them as the postgres OS user.
  const exec = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const url = `postgres://postgres@127.0.0.1:${port}/cdp`;

  const start = async () => {
    await exec('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=50`,
      'start',
    ]);
    await waitFor(
      'private postgres accepting',
      async () => {
        const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
        try {
          await c.connect();
          return true;
        } finally {
          await c.end().catch(() => {});
        }
      },
      30_000,
    );
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await exec('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']).catch(() => {});
  };

  await start();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE cdp');
  await admin.end();
  await migrate(url, logger);

  return {
    url,
    port,
    start,
    stop,
    async destroy() {
      await stop('immediate');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
