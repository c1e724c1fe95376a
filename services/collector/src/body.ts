import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * JSON bodies as Segment's SDKs send them: `application/json`, or `text/plain` from
 * navigator.sendBeacon (which cannot set a content type), either of them optionally gzip-encoded.
 * The size limit applies to the decompressed body, so a small gzip bomb is still a 413.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  const parse = (req: FastifyRequest, raw: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    try {
      const limit = req.routeOptions.bodyLimit ?? 1024 * 1024;
      done(null, JSON.parse(decode(req, raw, limit).toString('utf8')));
    } catch (err) {
      done(err instanceof BodyError ? err : new BodyError(400, 'body is not valid JSON'));
    }
  };
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, parse);
}

function decode(req: FastifyRequest, raw: Buffer, limit: number): Buffer {
  const encoding = String(req.headers['content-encoding'] ?? 'identity')
    .toLowerCase()
    .trim();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip')
    throw new BodyError(415, `content-encoding ${encoding} is not supported (use gzip)`);
  try {
    return gunzipSync(raw, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new BodyError(413, `decompressed body is larger than ${limit} bytes`);
    }
    throw new BodyError(400, 'body is not valid gzip');
  }
}
