import { createHash } from 'node:crypto';
import pg from 'pg';
import { Histogram, Counter, type Registry } from 'prom-client';
import { copyInto } from './copy.js';
import { metric } from '../metrics/registry.js';

export type Row = Record<string, unknown>;
export type Values = readonly unknown[];

export interface QueryOptions {
  /**
   * A named prepared statement, planned once per connection (a generic plan): for the hot
   * statements over customer_events, whose planning across its monthly partitions and their
   * indexes costs more than running them. Only for statements whose text never varies.
   */
  prepare?: boolean;
}

export interface Queryable {
  /** `tag` names the query in metrics and in a leading SQL comment visible in pg_stat_activity. */
  query<R extends Row = Row>(
    tag: string,
    sql: string,
    values?: Values,
    options?: QueryOptions,
  ): Promise<pg.QueryResult<R>>;
}

export interface Tx extends Queryable {
  copyFrom(
    tag: string,
    sql: string,
    chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string>,
  ): Promise<number>;
}

export interface Db extends Queryable {
  transaction<T>(tag: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

export interface DbOptions {
  connectionString: string;
  service: string;
  registry: Registry;
  max?: number;
  /** Shown in pg_stat_activity; default `service`. */
  applicationName?: string;
  /** Statement timeout in ms for every session; bounded so a stuck server surfaces as an error. */
  statementTimeoutMs?: number;
}

/** A prepared statement's name: one per text (PostgreSQL keeps 63 bytes of a name). */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `cdp_${createHash('sha1').update(text).digest('hex')}`;
    statementNames.set(text, name);
  }
  return name;
}

// numeric and bigint come back as strings by default; int8 counts fit in a JS number here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** All PostgreSQL access goes through here: one pool, tagged queries, transactions, COPY. */
export function createDb(opts: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMs ?? 60_000,
    application_name: opts.applicationName ?? opts.service,
    // Applies to named prepared statements only (QueryOptions.prepare): planned once, pruned at
    // run time, instead of planned again on every execution.
    options: '-c plan_cache_mode=force_generic_plan',
  });
  // An idle client losing its connection (a PostgreSQL restart) must not crash the process;
  // the next query gets a fresh connection or a retryable error.
  pool.on('error', () => {});

  const duration = metric(
    opts.registry,
    'pg_query_duration_seconds',
    (name, registers) =>
      new Histogram({
        name,
        help: 'PostgreSQL query duration by tag',
        labelNames: ['tag'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
        registers,
      }),
  );
  const errors = metric(
    opts.registry,
    'pg_query_errors_total',
    (name, registers) =>
      new Counter({ name, help: 'PostgreSQL query errors by tag', labelNames: ['tag'], registers }),
  );

  const prefix = (tag: string) => `/* ${opts.service}:${tag.replace(/\*\//g, '')} */ `;

  async function timed<T>(tag: string, fn: () => Promise<T>): Promise<T> {
    const end = duration.startTimer({ tag });
    try {
      return await fn();
    } catch (err) {
      errors.inc({ tag });
      throw err;
    } finally {
      end();
    }
  }

  const queryOn =
    (client: pg.Pool | pg.PoolClient) =>
    <R extends Row = Row>(tag: string, sql: string, values?: Values, options?: QueryOptions) =>
      timed(tag, () => {
        const text = prefix(tag) + sql;
        const params = values as unknown[] | undefined;
        if (!options?.prepare) return client.query<R>(text, params);
        return client.query<R>({ name: statementName(text), text, values: params });
      });

  return {
    query: queryOn(pool),

    async transaction<T>(tag: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      // A checked-out client whose connection dies emits 'error'; unheard, that is an uncaught
      // exception that kills the process. The transaction's next query fails anyway (retryably),
      // so we only mark the client as not to be reused.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const tx: Tx = {
          query: queryOn(client),
          copyFrom: (copyTag, sql, chunks) =>
            timed(copyTag, () => copyInto(client, prefix(copyTag) + sql, chunks)),
        };
        const result = await timed(tag, () => fn(tx));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection itself is gone; do not return it to the pool
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },

    end: () => pool.end(),
  };
}
