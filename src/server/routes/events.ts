import type { FastifyInstance } from 'fastify';
import { eventDocument, suppressionDocument } from '../../app/events.js';
import type { BodyProblem } from '../../app/platform-body.js';
import { isBareAddress } from '../../core/address.js';
import { DEFAULT_EVENT_LIMIT, EVENT_TYPES, eventFilterOf, type EventFilter } from '../../app/event-query.js';
import { SCOPE_HINT, scopeOf } from '../../app/suppressions.js';
import type { ServerContext } from '../context.js';
import { BadRequest, errorDocument } from '../errors.js';
import { BODY_ERRORS, COMMON_ERRORS, ERROR_SCHEMA } from '../schemas.js';

export { EVENT_TYPES };
export const MAX_EVENTS = 1000;
const NOTHING_CHANGED = 'nothing was changed; correct each field listed and send again';

const EVENT_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    type: { type: 'string', enum: EVENT_TYPES, description: "a provider's delivery event, or one of our alerts (failover, circuit-opened, budget-cap-reached, rate-limit-quota-reached)" },
    bounce: { type: 'string', enum: ['hard', 'soft'], description: 'bounced only' },
    provider: { type: 'string' },
    messageId: { type: 'string', nullable: true, description: "the provider's message id" },
    idempotencyKey: { type: 'string', nullable: true, description: 'our key, when the message id matches a delivery in the ledger' },
    recipient: { type: 'string', description: 'empty for an alert' },
    occurredAt: { type: 'string', format: 'date-time' },
    receivedAt: { type: 'string', format: 'date-time' },
    eventKey: { type: 'string' },
    raw: { description: "the provider's payload of the event; for an alert, the alert as its webhook POSTs it" },
  },
};

const SUPPRESSION_SCHEMA = {
  type: 'object',
  properties: {
    address: { type: 'string' },
    scope: { type: 'string', description: "'*' for every sending domain, else the From domain it applies to" },
    reason: { type: 'string' },
    source: { type: 'string', description: 'a provider name (webhooks), api:<key name>, manual, import' },
    createdAt: { type: 'string', format: 'date-time' },
  },
};

/** Query parameters and body fields not known to a route: each one a problem, by name. */
function unknownFields(given: Record<string, unknown>, known: string[]): BodyProblem[] {
  return Object.keys(given)
    .filter((field) => !known.includes(field))
    .map((path) => ({ path, message: `unknown field (known: ${known.join(', ')})` }));
}

/** The query of GET /events: the CLI's rules (app/event-query.ts), every problem answered at once. */
function eventQuery(query: Record<string, unknown>): EventFilter {
  const problems = unknownFields(query, ['type', 'since', 'to', 'limit']);
  const single = (name: string): string | undefined => {
    const value = query[name];
    if (Array.isArray(value)) problems.push({ path: name, message: 'give it once' });
    return typeof value === 'string' ? value : undefined;
  };
  const read = eventFilterOf({ type: single('type'), since: single('since'), to: single('to'), limit: single('limit') }, { maxLimit: MAX_EVENTS });
  problems.push(...read.problems.map(({ field, message, hint }) => ({ path: field, message: hint ? `${message} (${hint})` : message })));
  if (problems.length > 0) throw new BadRequest('invalid query', problems, 'GET /api/v1/openapi.json describes the parameters');
  return read.filter;
}

function newSuppression(body: unknown): { address: string; scope: string; reason: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('invalid request body', [{ path: '(body)', message: 'send one JSON object: {"address", "scope"?, "reason"?}' }], NOTHING_CHANGED);
  const fields = body as Record<string, unknown>;
  const problems = unknownFields(fields, ['address', 'scope', 'reason']);
  const { address, scope = '*', reason = 'added by hand' } = fields;
  if (address === undefined) problems.push({ path: 'address', message: 'missing: the email address not to send to' });
  else if (typeof address !== 'string' || !isBareAddress(address.trim())) problems.push({ path: 'address', message: 'not an email address (give the bare address: ada@example.com)' });
  if (typeof scope !== 'string' || scopeOf(scope) === undefined) problems.push({ path: 'scope', message: SCOPE_HINT });
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 200) problems.push({ path: 'reason', message: 'a text of 1 to 200 characters' });
  if (problems.length > 0) throw new BadRequest('invalid request body', problems, NOTHING_CHANGED);
  return { address: (address as string).trim().toLowerCase(), scope: scopeOf(scope as string)!, reason: (reason as string).trim() };
}

/** The events the providers' webhooks reported, and the suppression list (bearer key). */
export function eventRoutes(app: FastifyInstance, context: ServerContext): void {
  const { store } = context;

  app.get(
    '/events',
    {
      attachValidation: true,
      schema: {
        summary: "Delivery events reported by the providers' webhooks",
        description: 'Newest first. Each event is stored once, however often the provider sent it.',
        tags: ['events'],
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          properties: {
            type: { type: 'string', enum: EVENT_TYPES, description: "a provider's delivery event, or one of our alerts (failover, circuit-opened, budget-cap-reached, rate-limit-quota-reached)" },
            since: { type: 'string', description: 'events that happened at or after an ISO 8601 time (2026-05-01, 2026-05-01T12:00:00Z), or a duration back from now (24h, 7d)' },
            to: { type: 'string', description: 'the recipient' },
            limit: { type: 'string', pattern: '^[0-9]+$', description: `how many, 1 to ${MAX_EVENTS} (default ${DEFAULT_EVENT_LIMIT})` },
          },
        },
        response: { 200: { type: 'object', properties: { events: { type: 'array', items: EVENT_SCHEMA } } }, 400: { ...ERROR_SCHEMA, description: 'Invalid query: every problem in details[] by its parameter' }, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      // The checks are by hand (the schema documents them): query values are strings, and each problem names its parameter.
      const events = await store.listEvents(eventQuery(request.query as Record<string, unknown>));
      return { events: events.map(eventDocument) };
    },
  );

  app.get(
    '/suppressions',
    {
      schema: {
        summary: 'The suppression list',
        description: 'Addresses no message goes to (globally, scope "*", or for one sending domain): hard bounces, complaints and unsubscribes reported by webhooks, and those added by hand.',
        tags: ['suppressions'],
        security: [{ bearer: [] }],
        response: { 200: { type: 'object', properties: { suppressions: { type: 'array', items: SUPPRESSION_SCHEMA } } }, ...COMMON_ERRORS },
      },
    },
    async () => ({ suppressions: (await store.listSuppressions()).map(suppressionDocument) }),
  );

  app.post(
    '/suppressions',
    {
      attachValidation: true,
      schema: {
        summary: 'Suppress an address',
        tags: ['suppressions'],
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['address'],
          properties: {
            address: { type: 'string', description: 'the bare address' },
            scope: { type: 'string', description: '"*" (default: every sending domain) or a sending domain' },
            reason: { type: 'string', description: 'default "added by hand"' },
          },
          additionalProperties: false,
        },
        response: {
          201: { type: 'object', properties: { added: { type: 'boolean', enum: [true] }, suppression: SUPPRESSION_SCHEMA }, description: 'Added' },
          200: { type: 'object', properties: { added: { type: 'boolean', enum: [false] }, suppression: SUPPRESSION_SCHEMA }, description: 'Already suppressed in that scope: the first record stays' },
          400: { ...ERROR_SCHEMA, description: 'Invalid request: every problem in details[] by its field' },
          ...BODY_ERRORS,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const suppression = { ...newSuppression(request.body), source: `api:${request.apiKeyName ?? 'unknown'}`, createdAt: context.dispatcher.now() };
      if ((await store.addSuppressions([suppression])) > 0) return reply.code(201).send({ added: true, suppression: suppressionDocument(suppression) });
      const earlier = (await store.listSuppressions()).find((s) => s.address === suppression.address && s.scope === suppression.scope) ?? suppression;
      return reply.code(200).send({ added: false, suppression: suppressionDocument(earlier) });
    },
  );

  app.delete<{ Params: { address: string } }>(
    '/suppressions/:address',
    {
      attachValidation: true,
      schema: {
        summary: 'Remove an address from the suppression list',
        description: 'From every scope, or from one with ?scope=. Messages may go to it again.',
        tags: ['suppressions'],
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { address: { type: 'string' } }, required: ['address'] },
        querystring: { type: 'object', properties: { scope: { type: 'string', description: '"*" or a sending domain: remove from that scope only' } } },
        response: { 200: { type: 'object', properties: { removed: { type: 'integer' } } }, 404: { ...ERROR_SCHEMA, description: 'The address is not suppressed (in that scope)' }, 400: ERROR_SCHEMA, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const problems = unknownFields(query, ['scope']);
      const scope = query.scope === undefined ? undefined : typeof query.scope === 'string' ? scopeOf(query.scope) : undefined;
      if (query.scope !== undefined && scope === undefined) problems.push({ path: 'scope', message: SCOPE_HINT });
      if (problems.length > 0) throw new BadRequest('invalid query', problems, NOTHING_CHANGED);
      const address = request.params.address.trim().toLowerCase();
      const removed = await store.removeSuppression(address, scope);
      if (removed === 0) return reply.code(404).send(errorDocument(`${address} is not on the suppression list${scope ? ` for scope "${scope}"` : ''}`, [], 'GET /api/v1/suppressions lists it'));
      return { removed };
    },
  );
}
