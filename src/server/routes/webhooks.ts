import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ingestEvents } from '../../app/events.js';
import { findProviderDefinition } from '../../providers/registry.js';
import { WebhookRefused, type WebhookReceiver } from '../../providers/webhooks/webhook.js';
import type { ServerContext } from '../context.js';
import { errorDocument } from '../errors.js';
import { ERROR_SCHEMA } from '../schemas.js';

const RECEIPT_SCHEMA = {
  type: 'object',
  description: 'Accepted: the events are stored (each once) and hard bounces, complaints and unsubscribes suppressed.',
  properties: {
    status: { type: 'string', enum: ['ok'] },
    received: { type: 'integer', description: 'events in the payload that penguinmails keeps' },
    stored: { type: 'integer', description: 'of those, the ones not stored before (a retry of the provider stores nothing)' },
    suppressed: { type: 'integer', description: 'addresses newly put on the suppression list' },
    ignored: { type: 'integer', description: 'events of kinds not kept (e.g. Mailgun "accepted", SES "Send")' },
    note: { type: 'string', description: 'e.g. "SNS subscription to … confirmed"' },
  },
};

/** The largest webhook body taken (413 past it). */
export const WEBHOOK_BODY_LIMIT_BYTES = 1_000_000;

/**
 * `POST /api/v1/webhooks/{provider-name}`: delivery events from a provider of the config. No API
 * key: each provider proves itself its own way, checked by its webhook file
 * (src/providers/webhooks/<type>.ts, loaded on the first request). The body is kept as raw bytes
 * whatever its content type (signatures are over the bytes; SNS posts JSON as text/plain).
 *
 * Whatever can be refused from the URL and the headers is refused before the body is read (in
 * onRequest): no such provider, its webhook not set up or its secret not set, and what the
 * provider's file refuses from the headers alone (Postmark's credentials, SendGrid's missing
 * signature). The rest of such a body is drained, bounded (see unread-body.ts), never parsed.
 */
export async function webhookRoutes(app: FastifyInstance, context: ServerContext): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  const receivers = new Map<string, Promise<WebhookReceiver>>();
  /** The webhook a request was found to be for, in onRequest (requests refused there have none). */
  const webhookOf = new WeakMap<FastifyRequest, { entryType: string; receiver: WebhookReceiver }>();

  const findWebhook = async (request: FastifyRequest<{ Params: { provider: string } }>, reply: FastifyReply) => {
    const name = request.params.provider;
    const entry = Object.hasOwn(context.config.providers, name) ? context.config.providers[name] : undefined;
    // The name is not echoed: anyone may call this route, and an answer that showed a guessed
    // secret masked (every answer is) would tell them the guess was right.
    if (!entry) return reply.code(404).send(errorDocument('no provider of that name in the config', [], 'the webhook URL ends in the name of a provider of the config: /api/v1/webhooks/<provider-name>'));
    const support = findProviderDefinition(entry.type)?.webhook;
    if (!support) return reply.code(404).send(errorDocument(`provider "${name}" (${entry.type}) has no delivery webhooks`));
    const missing = support.configKeys.filter((key) => entry.settings[key] === undefined);
    if (missing.length > 0) {
      return refuse(reply, name, 404, `the webhook of provider "${name}" is not set up: nothing was stored`, `set providers.${name}.${support.setup} in the config and restart serve`);
    }
    const unresolved = context.config.unresolvedWebhookEnv[name] ?? [];
    if (unresolved.length > 0) {
      request.log.error({ provider: name, variables: unresolved.map((m) => m.variable) }, 'webhook refused: its secret comes from an environment variable that is not set');
      return refuse(reply, name, 503, `the webhook secret of provider "${name}" is not set on this server: nothing was stored`, 'the server log names the environment variable; the provider retries later');
    }
    let loading = receivers.get(name);
    if (!loading) {
      loading = support.load().then((create) => create(name, entry.settings));
      receivers.set(name, loading);
      loading.catch(() => receivers.delete(name));
    }
    const receiver = await loading;
    try {
      receiver.checkHeaders?.(request.headers);
    } catch (error) {
      return refused(error, reply, name, request);
    }
    webhookOf.set(request, { entryType: entry.type, receiver });
  };

  app.post<{ Params: { provider: string } }>(
    '/:provider',
    {
      schema: {
        summary: "Delivery events from a provider's webhook",
        description:
          'Point the provider\'s webhook at https://<host>/api/v1/webhooks/<provider-name>. No API key: Postmark sends HTTP Basic credentials (providers.<name>.webhook.username/password, written into the URL); Mailgun signs with HMAC-SHA256 (webhookSigningKey; 5-minute replay window; a token is good for the one request it signed, in every server sharing the store); SendGrid signs the event batch with ECDSA (webhookPublicKey); SES posts through an SNS topic (webhook.topicArns; SNS signatures verified, subscriptions confirmed). The body is the provider\'s payload as it sends it.',
        tags: ['events'],
        security: [],
        params: { type: 'object', properties: { provider: { type: 'string', description: 'the provider\'s name in the config' } }, required: ['provider'] },
        response: {
          200: RECEIPT_SCHEMA,
          400: { ...ERROR_SCHEMA, description: 'Malformed payload: nothing stored' },
          401: { ...ERROR_SCHEMA, description: 'Missing or wrong credentials or signature (or a replay): nothing stored' },
          404: { ...ERROR_SCHEMA, description: 'No such provider in the config, or its webhook is not set up' },
          405: { ...ERROR_SCHEMA, description: 'A method other than POST' },
          408: { ...ERROR_SCHEMA, description: 'The body did not all arrive within server.bodyTimeout' },
          413: { ...ERROR_SCHEMA, description: 'Body over 1 MB (or server.bodyLimit, if lower): nothing stored' },
          502: { ...ERROR_SCHEMA, description: 'An SNS subscription could not be confirmed' },
          503: { ...ERROR_SCHEMA, description: 'Shutting down, a webhook secret\'s environment variable is not set, or an SNS certificate could not be fetched: the provider retries later' },
        },
      },
      onRequest: findWebhook,
      // Providers post small bodies (SendGrid's batches stay under 768 KB, SNS messages under 256 KB),
      // and this route takes requests from anyone: it holds no more than that in memory.
      bodyLimit: Math.min(WEBHOOK_BODY_LIMIT_BYTES, context.config.server.bodyLimitBytes),
    },
    async (request, reply) => {
      const name = request.params.provider;
      const { entryType, receiver } = webhookOf.get(request)!;
      const now = context.dispatcher.now();
      let receipt;
      try {
        receipt = await receiver.receive({ headers: request.headers, body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0), now });
      } catch (error) {
        return refused(error, reply, name, request);
      }
      // Claimed per provider type, not per name: two names may share one account's signing key
      // (two Mailgun domains), and a token taken at one must not be taken again at the other.
      // The request's digest goes with the claim: the provider's retry of it (same body) is taken, the
      // same token with other events is not.
      const useOnce = receipt.useOnce;
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (useOnce && !(await context.store.claimWebhookToken(entryType, useOnce.token, createHash('sha256').update(body).digest('hex'), useOnce.until, now))) {
        request.log.warn({ provider: name, status: 401, reason: 'signature token used before for another request' }, 'webhook refused');
        return refuse(reply, name, 401, 'signature token used before for another request (a replay): nothing was stored', 'a signature is good for the one request it was made for');
      }
      const { stored, suppressed } = await ingestEvents(context.store, receipt.events, now);
      context.metrics.recordWebhook(name, 200, receipt.events);
      request.log.info({ provider: name, received: receipt.events.length, stored: stored.length, suppressed, ignored: receipt.ignored, note: receipt.note }, 'webhook');
      return reply.code(200).send({ status: 'ok', received: receipt.events.length, stored: stored.length, suppressed, ignored: receipt.ignored, ...(receipt.note ? { note: receipt.note } : {}) });
    },
  );

  /** A WebhookRefused as its answer; anything else is thrown on (a 500). */
  function refused(error: unknown, reply: FastifyReply, provider: string, request: FastifyRequest) {
    if (!(error instanceof WebhookRefused)) throw error;
    request.log.warn({ provider, status: error.status, reason: error.message }, 'webhook refused');
    if (error.options.wwwAuthenticate) reply.header('WWW-Authenticate', error.options.wwwAuthenticate);
    return refuse(reply, provider, error.status, error.message, error.options.hint ?? 'nothing was stored');
  }

  function refuse(reply: FastifyReply, provider: string, status: number, message: string, hint: string) {
    context.metrics.recordWebhook(provider, status, []);
    return reply.code(status).send(errorDocument(message, [], hint));
  }
}
