import type { FastifyInstance } from 'fastify';
import { errorDocument } from './errors.js';

/** Methods answered 405 on a path that takes others. */
const ANSWERED = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Notes each route's methods as routes are added; the function it returns, called once every route
 * is in, answers 405 with an Allow header for the other methods on those paths (Fastify answers
 * 404 for a path it knows under another method).
 */
export function methodNotAllowed(app: FastifyInstance): () => void {
  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByUrl.set(route.url, methods);
  });
  return () => {
    for (const [url, methods] of methodsByUrl) {
      // GET /emails/send also matches GET /emails/:id, whose handler answers it (a key may be named "send").
      const others = ANSWERED.filter((method) => !methods.has(method) && !(method === 'GET' && matchesParamRoute(url, 'GET', methodsByUrl)));
      if (others.length === 0) continue;
      const allowed = [...methods].filter((method) => method !== 'HEAD').join(', ');
      app.route({
        method: others,
        url,
        schema: { hide: true },
        handler: (request, reply) => reply.code(405).header('Allow', allowed).send(errorDocument(`${request.method} is not allowed here: use ${allowed}`, [], 'GET /api/v1/openapi.json lists the routes')),
      });
    }
  };
}

/** Whether a route of `method` whose last step is a parameter also matches `url` (`/a/:id` for `/a/send`). */
function matchesParamRoute(url: string, method: string, methodsByUrl: Map<string, Set<string>>): boolean {
  const parent = url.slice(0, url.lastIndexOf('/'));
  return [...methodsByUrl].some(([other, methods]) => other !== url && methods.has(method) && other.startsWith(`${parent}/:`) && !other.slice(parent.length + 1).includes('/'));
}
