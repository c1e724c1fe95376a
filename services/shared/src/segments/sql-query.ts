/**
 * An sql_query segment's members, computed on a session of its own that is thrown away after:
 * the query runs as cdp_segment_reader (0022's segment_query_members) in a READ ONLY transaction
 * under a statement_timeout, and whatever it does to its session (a setting, a session-level
 * advisory lock) ends with that session instead of staying on a pooled connection that the
 * pipeline's own transactions use next.
 */
import pg from 'pg';

export type SegmentQueryResult = { ok: true; members: string[] } | { ok: false; error: string };

export async function runSegmentQuery(opts: {
  connectionString: string;
  query: string;
  params: unknown;
  timeoutMs: number;
  applicationName: string;
}): Promise<SegmentQueryResult> {
  const client = new pg.Client({
    connectionString: opts.connectionString,
    application_name: opts.applicationName,
    connectionTimeoutMillis: 5_000,
    // A server that stops answering surfaces as an error, not a hang.
    query_timeout: opts.timeoutMs + 5_000,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(opts.timeoutMs))}`);
    const { rows } = await client.query<{ id: string }>(
      'SELECT m::text AS id FROM segment_query_members($1, $2::jsonb) AS m',
      [opts.query, opts.params === null || opts.params === undefined ? null : JSON.stringify(opts.params)],
    );
    return { ok: true, members: rows.map((r) => r.id) };
  } catch (err) {
    const e = err as Error & { code?: string };
    // Only PostgreSQL's verdict on the query is the segment's; a lost connection is retried.
    if (typeof e.code !== 'string' || /^(08|53|57P|58|XX)/.test(e.code)) throw err;
    return { ok: false, error: `sql_query failed (SQLSTATE ${e.code}): ${withoutLiterals(e.message)}` };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * PostgreSQL quotes the values it could not read (`invalid input syntax for type uuid: "a@b.c"`);
 * a stored and logged error must not carry a customer's data.
 */
export function withoutLiterals(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 500);
}
