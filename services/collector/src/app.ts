import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/src/logger.js';
import { isRetryable } from '../../shared/src/errors.js';
import { parseTrustProxy, type CollectorConfig } from './config.js';
import { registerBodyParsers, BodyError } from './body.js';
import { formatValidationErrors, type AjvError } from './validation-errors.js';
import type { CollectorMetrics } from './metrics.js';
import { opsRoutes } from './routes/ops.js';
import { ApiError, routeOf, v1Routes, type V1Deps } from './routes/v1.js';

export interface AppDeps extends Omit<V1Deps, 'config'> {
  logger: Logger;
  registry: Registry;
  metrics: CollectorMetrics;
  isReady: () => boolean;
}

const RETRY_AFTER_SECONDS = 5;

/** Builds the collector without starting it: no listening, no connections, nothing read from the environment. */
export async function buildApp(config: CollectorConfig, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Request logs would carry client IPs and URLs with personal data; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: parseTrustProxy(config.trustProxy),
    bodyLimit: config.maxBatchBytes,
    return503OnClosing: true,
    ajv: {
      customOptions: {
        allErrors: true,
        discriminator: true,
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
      },
    },
  });

  const { metrics } = deps;
  app.addHook('onRequest', async (req) => {
    metrics.inflight.inc();
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length)) metrics.requestBytes.observe({ route: routeOf(req) }, length);
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.inflight.dec();
    const route = routeOf(req);
    const source = req.source?.name ?? 'unknown';
    metrics.requests.inc({ route, source, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
    if (req.eventCount !== undefined || reply.statusCode >= 400) {
      const outcome = reply.statusCode < 300 ? 'accepted' : reply.statusCode < 500 ? 'rejected' : 'failed';
      metrics.events.inc({ route, source, outcome }, req.eventCount ?? 1);
    }
  });

  // On close, Fastify ends idle keep-alive connections, but one busy with a request at that moment
  // would stay open for keepAliveTimeout after its response; telling the client to close it lets
  // shutdown finish as soon as the in-flight requests do.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.setErrorHandler((err: FastifyError & Partial<ApiError>, req, reply) => {
    const send = (
      status: number,
      error: string,
      message: string,
      errors?: { field: string; message: string }[],
    ) => reply.code(status).send({ success: false, error, message, ...(errors ? { errors } : {}) });

    if (err.validation) {
      return send(
        400,
        'invalid',
        'the request has invalid fields',
        formatValidationErrors(err.validation as AjvError[]),
      );
    }
    if (err instanceof ApiError) {
      if (err.statusCode === 429) reply.header('retry-after', '1');
      return send(err.statusCode, err.error, err.message, err.errors);
    }
    if (err instanceof BodyError)
      return send(err.statusCode, err.statusCode === 413 ? 'too_large' : 'invalid', err.message, err.errors);
    if (isRetryable(err)) {
      req.log.warn(
        { err: { message: err.message }, route: routeOf(req) },
        'dependency unavailable; answered 503',
      );
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return send(503, 'unavailable', 'the pipeline cannot take events right now; retry later');
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(415, 'unsupported_media_type', 'send application/json or text/plain');
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(
          413,
          'too_large',
          `body is larger than ${req.routeOptions.bodyLimit ?? config.maxBatchBytes} bytes`,
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return send(400, 'invalid', 'body is not valid JSON');
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return send(err.statusCode, 'bad_request', err.message);
    req.log.error({ err, route: routeOf(req) }, 'unexpected error');
    return send(500, 'internal', 'internal error');
  });

  registerBodyParsers(app);
  // CORS for browser SDKs on any site. The preflight reflects the headers the page asks for (no
  // allowedHeaders list): SDKs add headers from release to release (analytics-next 1.84
  // X-Retry-Count; RudderStack AnonymousId, SentAt, and Rsa-* only on retries, so a fixed list
  // fails exactly the retry), and a header the browser may send unlocks nothing, since
  // authentication is the write key, which is public in the page anyway. Credentials are allowed
  // (with the origin reflected, never `*`): navigator.sendBeacon always sends cookies, and
  // analytics-next's `credentials: 'include'` option is refused by the browser without it. The
  // collector reads no cookie, so a credentialed request can do nothing an anonymous one cannot.
  // Retry-After is exposed so analytics-next can honour it on a 429.
  await app.register(cors, {
    origin: true,
    credentials: true,
    methods: ['GET', 'POST', 'OPTIONS'],
    exposedHeaders: ['Retry-After'],
    maxAge: 86_400,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'CDP collector',
        version: '1',
        description:
          'Segment-compatible tracking API. Authenticate with the source write key as the HTTP Basic user, or writeKey in the body.',
      },
      components: { securitySchemes: { writeKey: { type: 'http', scheme: 'basic' } } },
      security: [{ writeKey: [] }],
    },
  });

  await app.register(opsRoutes, { registry: deps.registry, isReady: deps.isReady });
  await app.register(v1Routes, { ...deps, config });
  return app;
}
