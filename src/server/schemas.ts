import * as z from 'zod/mini';
import '../config/zod.js';
import { platformBodySchema } from '../app/platform-body.js';

/**
 * JSON schemas of the routes: Fastify validates request bodies with them and @fastify/swagger
 * publishes them at /api/v1/openapi.json. The body's schema is made from the one zod schema of the
 * platform body, so the API, `send --payload` and the library cannot drift apart.
 */
const sendBody = z.toJSONSchema(platformBodySchema, { io: 'input', target: 'openapi-3.0' }) as Record<string, any>;
delete sendBody.$schema;

export const SEND_BODY_SCHEMA = { ...sendBody, description: 'The platform API body (as `send --payload`).' };

const recipientSchema = {
  type: 'object',
  required: ['email'],
  properties: { email: { type: 'string' } },
  additionalProperties: { type: 'string' },
  description: 'One recipient and its merge fields ({{name}} in the subject and bodies).',
};

/** The platform body without to/cc/bcc, plus the list of recipients. */
export const BULK_BODY_SCHEMA = {
  ...sendBody,
  properties: {
    ...Object.fromEntries(Object.entries(sendBody.properties as Record<string, unknown>).filter(([name]) => !['to', 'cc', 'bcc'].includes(name))),
    recipients: { type: 'array', minItems: 1, items: recipientSchema },
  },
  required: [...(sendBody.required as string[]), 'recipients'],
  description: 'The platform body without "to", "cc" and "bcc", plus "recipients": one personalised copy each.',
};

export const IDEMPOTENCY_HEADER_SCHEMA = {
  type: 'object',
  properties: {
    'idempotency-key': { type: 'string', description: "The message's idempotency key (overrides the body's idempotency_key): delivered at most once for idempotency.keep" },
  },
};

const attemptSchema = {
  type: 'object',
  properties: {
    provider: { type: 'string' },
    try: { type: 'integer' },
    outcome: { type: 'string', enum: ['delivered', 'transient', 'provider-unusable', 'permanent', 'ambiguous', 'skipped'] },
    error: { type: 'string' },
    ms: { type: 'number' },
  },
  additionalProperties: true,
};

export const RESULT_SCHEMA = {
  type: 'object',
  description: 'The `send --json` result document.',
  properties: {
    status: { type: 'string', enum: ['delivered', 'duplicate', 'queued', 'rejected', 'partial'] },
    provider: { type: 'string', nullable: true },
    messageId: { type: 'string', nullable: true },
    attempts: { type: 'array', items: attemptSchema },
    outboxId: { type: 'integer', nullable: true, description: 'queued: the outbox entry the worker retries' },
    idempotencyKey: { type: 'string' },
    reason: { type: 'string', nullable: true },
    ambiguous: { type: 'boolean' },
    duplicateOf: { type: 'object', properties: { provider: { type: 'string' }, messageId: { type: 'string' }, deliveredAt: { type: 'string' } } },
    refused: { type: 'array', items: { type: 'object', properties: { address: { type: 'string' }, reason: { type: 'string' }, permanent: { type: 'boolean' } } } },
  },
  additionalProperties: true,
};

export const CURRENT_RESULT_SCHEMA = {
  ...RESULT_SCHEMA,
  description: "The message's result document as it stands now.",
  properties: {
    ...RESULT_SCHEMA.properties,
    status: { type: 'string', enum: ['delivered', 'duplicate', 'queued', 'rejected', 'partial', 'dropped', 'expired'] },
    deliveredAt: { type: 'string' },
    nextAttemptAt: { type: 'string', nullable: true },
  },
};

export const ERROR_SCHEMA = {
  type: 'object',
  description: 'The request was not acted on: nothing was sent.',
  properties: {
    status: { type: 'string', enum: ['error'] },
    error: { type: 'string' },
    hint: { type: 'string' },
    details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
    detailsNotListed: { type: 'integer', description: 'Problems past the first 100, not listed in details' },
  },
};

export const BULK_REPORT_SCHEMA = {
  type: 'object',
  description: 'The `send --recipients --json` report so far (status running until the run ends).',
  properties: {
    bulkId: { type: 'string' },
    status: { type: 'string', enum: ['running', 'delivered', 'partial', 'queued', 'rejected', 'interrupted', 'error'] },
    recipients: { type: 'integer' },
    delivered: { type: 'integer' },
    skippedAlreadyDelivered: { type: 'integer' },
    rejected: { type: 'integer' },
    queued: { type: 'integer' },
    invalid: { type: 'integer' },
    failures: {
      type: 'array',
      description: 'Recipients not delivered: path (recipients[i]), line (i + 1, as a list file would number it), email, outcome (rejected, queued, invalid), reason, outboxId, and ambiguous (true: queued, but the provider may have it, so the worker does not retry it by itself)',
      items: { type: 'object', additionalProperties: true },
    },
  },
  additionalProperties: true,
};

/** The answers every authenticated route can give besides its own. */
export const COMMON_ERRORS = {
  401: { ...ERROR_SCHEMA, description: 'Missing, unknown or revoked API key (WWW-Authenticate: Bearer)' },
  405: { ...ERROR_SCHEMA, description: 'A method this path does not take (Allow lists those it does)' },
  414: { ...ERROR_SCHEMA, description: 'A part of the path longer than 1,024 characters' },
  429: { ...ERROR_SCHEMA, description: 'Rate limited for this key: wait Retry-After seconds' },
  500: { ...ERROR_SCHEMA, description: 'Unexpected error: the server log has the details' },
  503: { ...ERROR_SCHEMA, description: 'Shutting down, or the store cannot be reached (Retry-After)' },
};

/** Answers of the routes that take a JSON body, besides their own. */
export const BODY_ERRORS = {
  413: { ...ERROR_SCHEMA, description: 'Body larger than the route takes (server.bodyLimit)' },
  415: { ...ERROR_SCHEMA, description: 'Not application/json' },
};
