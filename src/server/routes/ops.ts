import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

/** /healthz, /readyz and /metrics: no key needed (keep the port on a trusted network, or put a proxy in front). */
export function opsRoutes(app: FastifyInstance, context: ServerContext): void {
  const status = { type: 'object', properties: { status: { type: 'string' } } };
  app.get('/healthz', { schema: { summary: 'The process is alive', tags: ['operations'], response: { 200: status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Ready for requests: the store answers and the server is not shutting down', tags: ['operations'], response: { 200: status, 503: status } } }, async (_request, reply) => {
    if (context.shuttingDown) return reply.code(503).send({ status: 'shutting down' });
    try {
      await context.store.healthOf(context.config.failover.order[0] ?? 'readyz');
      return { status: 'ready' };
    } catch (error) {
      reply.log.warn({ err: { message: error instanceof Error ? error.message : String(error) } }, 'readyz: the store did not answer');
      return reply.code(503).send({ status: 'store unreachable' });
    }
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (penguinmails_ prefix)', tags: ['operations'], produces: ['text/plain'] } }, async (_request, reply) => {
    reply.header('Content-Type', context.metrics.contentType);
    return context.metrics.text();
  });
}
