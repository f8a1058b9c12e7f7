import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { Writable } from 'node:stream';
import { nulCharacterPath } from '../core/json-paths.js';
import { redactSecrets } from '../core/secrets.js';
import { requireApiKey } from './auth.js';
import type { ServerContext } from './context.js';
import { BadRequest, clientErrorHandler, errorDocument, errorHandler, shuttingDown } from './errors.js';
import { emailRoutes } from './routes/emails.js';
import { eventRoutes } from './routes/events.js';
import { opsRoutes } from './routes/ops.js';
import { webhookRoutes } from './routes/webhooks.js';
import { parseJsonBody } from './json-body.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { drainUnreadBody } from './unread-body.js';

/** The longest part of a path the routes take: an address percent-encoded, and more. */
const MAX_PATH_PART = 1_024;

export interface AppOptions {
  /** Where log lines go (already redacting: see RedactingLog). */
  log: Writable;
  logLevel: string;
}

/**
 * The Fastify application: routes are thin over the application layer (the send service, the
 * bulk sender, the store). No key, secret or stack trace reaches a client or a log line.
 */
export async function buildApp(context: ServerContext, options: AppOptions): Promise<FastifyInstance> {
  const { server } = context.config;
  const app = Fastify({
    logger: { level: options.logLevel, stream: options.log, redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '****' } },
    // One line per request is written in onResponse (without headers); Fastify's two are left out.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: server.bodyLimitBytes,
    // A request that has not all arrived within server.bodyTimeout is answered 408 and closed: a
    // client sending slowly, or not at all, cannot hold connections and memory for ever (Fastify's
    // default is no limit). Node looks for such requests every connectionsCheckingInterval.
    requestTimeout: server.bodyTimeoutMs,
    http: { headersTimeout: Math.min(60_000, server.bodyTimeoutMs), connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(server.bodyTimeoutMs / 4))) },
    clientErrorHandler,
    // A path part may be an idempotency key (up to 200 characters) or an address (up to 254),
    // percent-encoded: Fastify's 100 turned such look-ups into its own 414.
    routerOptions: { maxParamLength: MAX_PATH_PART },
    // What the router refuses before any route (a bad %-escape, a part too long) is answered in this API's shape.
    frameworkErrors: (error, _request, routerReply) => {
      const reply = routerReply as unknown as FastifyReply;
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return reply.code(414).send(errorDocument(`a part of the path is longer than ${MAX_PATH_PART} characters`, [], 'no id, key or address is that long'));
      return reply.code(400).send(errorDocument('the path is not valid: a % that starts no %-escape, or a part that is not UTF-8', [], 'encode each part of the path with encodeURIComponent'));
    },
    return503OnClosing: true,
    // The first problem only: a body's problems are listed by the routes' own checks (zod's), and
    // every error of a 10 MB body of bad items took gigabytes to list.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false, strict: false } },
  });
  // Bodies are JSON only: anything else is 415 (Fastify would otherwise take text/plain as a string).
  app.removeContentTypeParser(['text/plain']);
  // Response schemas document the answers (OpenAPI); answers are serialised as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(errorHandler(server.bodyLimitBytes));
  // The path is not echoed: an answer showing a guessed secret masked (every answer is) would tell
  // anyone, without a key, that the guess was right.
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorDocument(`no route ${request.method} for this path`, [], 'GET /api/v1/openapi.json lists the routes')));

  // Shutting down: nothing new is accepted (liveness still answers).
  app.addHook('onRequest', async (request, reply) => {
    if (context.shuttingDown && request.url !== '/healthz') return shuttingDown(reply);
  });
  // An answer sent before its body was read (413, 401, 415): the rest is drained, bounded (see unread-body.ts).
  // Every answer's text is masked as the CLI's output is: a provider's error that echoes a token
  // back (an attempt's error, the reason) must not hand that token to an API client.
  app.addHook('onSend', async (request, _reply, payload) => {
    drainUnreadBody(request.raw, server.bodyLimitBytes);
    return typeof payload === 'string' ? redactSecrets(payload) : payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), key: request.apiKeyName }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'penguinmails platform API', version: '1', description: 'Send email through the configured providers with routing, failover and a durable outbox.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `penguinmails keys create`' } } },
    },
  });

  const answerOtherMethods = methodNotAllowed(app);
  opsRoutes(app, context);
  // No API key here: each provider proves itself its own way (and no rate limit per key either).
  await app.register((webhooks) => webhookRoutes(webhooks, context), { prefix: '/api/v1/webhooks' });
  await app.register(
    async (api) => {
      api.addHook('onRequest', requireApiKey(context.store, (error) => app.log.warn({ err: { message: error instanceof Error ? error.message : String(error) } }, "could not note an API key's last use")));
      // Per key (authentication has run by now: route hooks come after the scope's own).
      await api.register(rateLimit, {
        max: server.rateLimit.max,
        timeWindow: server.rateLimit.windowMs,
        keyGenerator: (request) => request.apiKeyName ?? request.ip,
        errorResponseBuilder: (_request, limit) => ({ statusCode: 429, message: `rate limited: this key made more than ${limit.max} requests in server.rateLimit.window; retry in ${limit.after}` }),
      });
      // No id, key, address or filter holds a NUL character, and PostgreSQL takes none in a query's
      // text: such a request is the client's mistake (400), not a store failure (500).
      api.addHook('preValidation', async (request) => {
        if (nulCharacterPath([request.params, request.query]) !== undefined) {
          throw new BadRequest('the path or query string holds a NUL character (%00)', [], 'no id, key, address or filter has one');
        }
      });
      api.removeContentTypeParser('application/json');
      api.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
      emailRoutes(api, context);
      eventRoutes(api, context);
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/api/v1' },
  );
  answerOtherMethods();
  return app;
}
