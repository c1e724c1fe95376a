import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  jsonTextNeedsNormalizing,
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  storableJson,
} from '../../shared/src/text/storable.js';

export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    message: string,
    readonly errors?: { field: string; message: string }[],
  ) {
    super(message);
  }
}

/**
 * JSON bodies as Segment's SDKs send them: `application/json`, or `text/plain` from
 * navigator.sendBeacon (which cannot set a content type), either of them optionally gzip-encoded.
 * The size limit applies to the decompressed body, so a small gzip bomb is still a 413.
 *
 * Every body is made storable here, before validation sees it: nesting past MAX_JSON_DEPTH is a
 * 400 naming where, and NUL or lone surrogates in any string or key become U+FFFD (the rule of
 * text/storable.ts). Invalid UTF-8 bytes already become U+FFFD when the body is decoded, so a lone
 * surrogate can only arrive as a `\ud800` escape, which the check on the raw text finds: bodies
 * without one are not walked.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  const parse = (req: FastifyRequest, raw: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    let text: string;
    let body: unknown;
    try {
      const limit = req.routeOptions.bodyLimit ?? 1024 * 1024;
      text = decode(req, raw, limit).toString('utf8');
      body = JSON.parse(text);
    } catch (err) {
      done(err instanceof BodyError ? err : new BodyError(400, 'body is not valid JSON'));
      return;
    }
    const deepAt = jsonTooDeepAt(body);
    if (deepAt !== null) {
      const message = `nested deeper than ${MAX_JSON_DEPTH} levels`;
      done(new BodyError(400, `the body is ${message}`, [{ field: deepAt, message }]));
      return;
    }
    done(null, jsonTextNeedsNormalizing(text) ? storableJson(body) : body);
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
