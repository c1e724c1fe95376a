/** The only module that imports pg-copy-streams. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Streams `chunks` into `COPY ... FROM STDIN` on `client` and resolves with the rows PostgreSQL
 * counted. On any error the pipeline destroys the COPY stream, which aborts the COPY, so a
 * half-written batch is never visible (and the surrounding transaction rolls back anyway).
 */
export async function copyInto(
  client: PoolClient,
  sql: string,
  chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string>,
): Promise<number> {
  const sink = client.query(copyFrom(sql));
  await pipeline(Readable.from(chunks, { objectMode: false }), sink);
  return sink.rowCount;
}
