/**
 * Leadership: a PostgreSQL advisory lock held by one dedicated connection (not a pool client),
 * so the lock lives exactly as long as that session. When the leader's process dies, or its
 * connection is cut, the server releases the lock and a standby's next try takes it.
 *
 * The scheduler's own reads and writes of scheduled_jobs go through this same session: a
 * scheduler whose session is gone cannot record anything, so a deposed leader never overwrites
 * what the new one recorded. Job handlers use the ordinary pool.
 *
 * The shared gateway has no dedicated-session API, so this file talks to `pg` directly.
 */
import pg from 'pg';
import { RetryableError } from '../../shared/src/errors.js';
import type { Logger } from '../../shared/src/logger.js';
import type { Queryable, Row, Values } from '../../shared/src/pg/gateway.js';

export interface LeaderSessionOptions {
  connectionString: string;
  /** Schedulers with the same name compete for one lock. */
  lockName: string;
  /** Shown in pg_stat_activity, so the leader's session is easy to find (and to terminate). */
  applicationName: string;
  logger: Logger;
  statementTimeoutMs?: number;
}

/** The lock was lost (or never held): the work in hand belongs to another scheduler now. */
export class NotLeaderError extends RetryableError {
  constructor() {
    super('this scheduler does not hold the scheduler lock');
    this.name = 'NotLeaderError';
  }
}

export class LeaderSession implements Queryable {
  private client: pg.Client | undefined;
  private held = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly opts: LeaderSessionOptions) {}

  get isLeader(): boolean {
    return this.held;
  }

  /** Whether the last attempt reached PostgreSQL (as leader or as standby). */
  get isConnected(): boolean {
    return this.client !== undefined;
  }

  /** Called with true when the lock is taken and false when it is lost or released. */
  subscribe(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * True if this session holds the lock now: proves a held lock's session is alive, or tries to
   * take a free one (connecting first if needed). Connection failures are thrown (retryable).
   */
  async acquire(): Promise<boolean> {
    const client = this.client ?? (await this.connect());
    if (this.held) {
      try {
        await client.query('SELECT 1');
        return true;
      } catch (err) {
        this.drop(client);
        throw err;
      }
    }
    let locked: boolean;
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [this.opts.lockName],
      );
      locked = rows[0]?.locked === true;
    } catch (err) {
      this.drop(client);
      throw err;
    }
    if (locked && this.client === client) this.setHeld(true);
    return this.held;
  }

  query<R extends Row = Row>(tag: string, sql: string, values?: Values): Promise<pg.QueryResult<R>> {
    const client = this.client;
    if (!client || !this.held) return Promise.reject(new NotLeaderError());
    return client.query<R>(
      `/* scheduler:${tag.replace(/\*\//g, '')} */ ${sql}`,
      values as unknown[] | undefined,
    );
  }

  /** Unlocks and closes the session (the lock would go with the connection anyway). */
  async release(): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (this.held) {
      await client
        .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.opts.lockName])
        .catch(() => {});
    }
    this.drop(client);
  }

  private async connect(): Promise<pg.Client> {
    const timeout = this.opts.statementTimeoutMs ?? 30_000;
    const client = new pg.Client({
      connectionString: this.opts.connectionString,
      application_name: this.opts.applicationName,
      statement_timeout: timeout,
      // A server that stops answering (a network cut) must surface as an error, not a hang.
      query_timeout: timeout + 5_000,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // Unheard, a dying connection's 'error' would crash the process; here it only ends leadership.
    client.on('error', (err) => {
      this.opts.logger.warn({ err: { message: err.message } }, 'scheduler lock session failed');
      this.drop(client);
    });
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.held) this.setHeld(false);
    client.end().catch(() => {});
  }

  private setHeld(held: boolean): void {
    this.held = held;
    for (const listener of this.listeners) listener(held);
  }
}
