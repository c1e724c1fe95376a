import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OpsDeps {
  registry: Registry;
  isReady: () => boolean;
}

/** Liveness, readiness, Prometheus metrics and the OpenAPI document: no auth, no rate limit. */
export async function opsRoutes(app: FastifyInstance, deps: OpsDeps): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const ready = deps.isReady();
    return reply.code(ready ? 200 : 503).send({ ok: ready });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
