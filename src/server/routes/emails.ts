import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkPlatformBody, problemsOfWellFormedFields, type BodyProblem } from '../../app/platform-body.js';
import type { SendStatus } from '../../app/send-service.js';
import { MAX_RUNNING_BULK_JOBS } from '../bulk-jobs.js';
import { checkRecipients } from '../bulk-recipients.js';
import type { ServerContext } from '../context.js';
import { BadRequest, errorDocument, messageProblemPath, shuttingDown } from '../errors.js';
import { currentResult } from '../message-status.js';
import { refuseOversizedFields } from '../oversized-fields.js';
import { prepareBulkSend, prepareSend } from '../prepare.js';
import { BODY_ERRORS, BULK_BODY_SCHEMA, BULK_REPORT_SCHEMA, COMMON_ERRORS, CURRENT_RESULT_SCHEMA, ERROR_SCHEMA, IDEMPOTENCY_HEADER_SCHEMA, RESULT_SCHEMA, SEND_BODY_SCHEMA } from '../schemas.js';
import { sendWithinBudget } from '../send-within-budget.js';

/**
 * HTTP status of a result (SPEC serve). `partial` (delivered, some recipients refused) is 200:
 * the message went out; the document's `refused` lists who did not get it.
 */
export const HTTP_STATUS: Record<SendStatus, number> = { delivered: 200, duplicate: 200, partial: 200, queued: 202, rejected: 422 };

const NOTHING_SENT = 'nothing was sent; correct each field listed and send again';

function keyHeader(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The body's problems by path (zod's check is the reference; Fastify's JSON schema check agrees with it). */
function bodyProblems(request: FastifyRequest, zodProblems: BodyProblem[] | undefined): BodyProblem[] | undefined {
  if (zodProblems) return zodProblems;
  if (!request.validationError) return undefined;
  const validation = (request.validationError as { validation?: { instancePath: string; message?: string }[] }).validation ?? [];
  return validation.map((v) => ({ path: v.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(body)', message: v.message ?? 'invalid' }));
}

export function emailRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post(
    '/emails/send',
    {
      attachValidation: true,
      schema: {
        summary: 'Send one message',
        description: 'Routes the message and walks the provider chain. Waits at most server.requestBudget: a send still under way then goes on in the background and the answer is 202 (queued) with its outbox id.',
        tags: ['emails'],
        security: [{ bearer: [] }],
        headers: IDEMPOTENCY_HEADER_SCHEMA,
        body: SEND_BODY_SCHEMA,
        response: {
          200: { ...RESULT_SCHEMA, description: 'delivered, duplicate (delivered earlier: not sent again) or partial (delivered; `refused` lists recipients who were not)' },
          202: { ...RESULT_SCHEMA, description: 'queued: waiting in the outbox (outboxId); the worker retries it' },
          400: { ...ERROR_SCHEMA, description: 'Invalid request: every problem in details[] by its path' },
          413: { ...ERROR_SCHEMA, description: 'Body larger than server.bodyLimit' },
          409: { ...ERROR_SCHEMA, description: 'The idempotency key was used for a different message (delivered, or waiting in the outbox): nothing was sent' },
          415: { ...ERROR_SCHEMA, description: 'Not application/json' },
          422: { ...RESULT_SCHEMA, description: 'rejected: permanently refused (invalid or suppressed recipient, bad content); no other provider was tried' },
          ...COMMON_ERRORS,
        },
      },
    },
    async (request, reply) => {
      refuseOversizedFields(request.body, 'invalid request body', NOTHING_SENT);
      const checked = checkPlatformBody(request.body);
      const problems = bodyProblems(request, checked.ok ? undefined : checked.problems);
      if (problems || !checked.ok) {
        const all = [...(problems ?? []), ...problemsOfWellFormedFields(request.body, problems ?? [], context.dispatcher.config.defaults, (problem) => messageProblemPath(problem, keyHeader(request) !== undefined))];
        throw new BadRequest('invalid request body', all, NOTHING_SENT);
      }
      const prepared = await prepareSend(context.dispatcher, checked.body, keyHeader(request));
      // A body that ended after a shutdown began (its request passed the check on arrival) is not
      // taken: the grace is for the sends already under way. Nothing awaits from here to the send's
      // being tracked, so no send starts unseen by the shutdown's drain.
      if (context.shuttingDown) return shuttingDown(reply);
      const result = await sendWithinBudget(context, prepared, (error) => request.log.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'a send that went on past the request budget failed'));
      return reply.code(HTTP_STATUS[result.status]).send(result);
    },
  );

  app.post(
    '/emails/bulk',
    {
      attachValidation: true,
      schema: {
        summary: 'Send one personalised copy per recipient',
        description: "Starts a bulk run through the providers' batch APIs (as `send --recipients`); GET /api/v1/bulk/{bulkId} reports on it. Posting the same bulk again skips the recipients already delivered; posted while its run still goes on in this server, it answers with that run's bulkId.",
        tags: ['emails'],
        security: [{ bearer: [] }],
        headers: IDEMPOTENCY_HEADER_SCHEMA,
        body: BULK_BODY_SCHEMA,
        response: {
          202: { type: 'object', properties: { bulkId: { type: 'string' } }, description: 'The run has started (or, for the same request while its run still goes on in this server, that run)' },
          400: { ...ERROR_SCHEMA, description: 'Invalid request: every problem in details[] by its path' },
          409: { ...ERROR_SCHEMA, description: 'The idempotency key was used for a different message (a bulk run of other content, still going in this server or delivered): nothing was started' },
          ...BODY_ERRORS,
          ...COMMON_ERRORS,
          503: { ...ERROR_SCHEMA, description: `Shutting down, or ${MAX_RUNNING_BULK_JOBS} bulk runs already under way on this server: post again after Retry-After` },
        },
      },
    },
    async (request, reply) => {
      const raw = request.body;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadRequest('invalid bulk request', [{ path: '(body)', message: 'the body must be one JSON object' }], NOTHING_SENT);
      const { recipients: rawRecipients, ...rest } = raw as Record<string, unknown>;
      const listFields = ['to', 'cc', 'bcc'].filter((field) => field in rest);
      if (listFields.length) throw new BadRequest('invalid bulk request', listFields.map((path) => ({ path, message: '"recipients" gives the recipients of a bulk send: leave this out' })), NOTHING_SENT);
      refuseOversizedFields(rest, 'invalid bulk request', NOTHING_SENT);
      const checked = checkPlatformBody(rest);
      if (!checked.ok) throw new BadRequest('invalid bulk request', checked.problems, NOTHING_SENT);
      const recipients = checkRecipients(rawRecipients);
      // A body still arriving when the shutdown began: checked again now that it is here.
      if (context.shuttingDown) return shuttingDown(reply);
      // A slot is taken before anything is awaited: concurrent requests cannot pass the cap together.
      const release = context.bulkJobs.reserve(MAX_RUNNING_BULK_JOBS);
      if (!release) {
        reply.header('Retry-After', '30');
        return reply.code(503).send(errorDocument(`${MAX_RUNNING_BULK_JOBS} bulk runs are under way on this server: this one was not started`, [], 'post it again in a little while (Retry-After), or to another instance; nothing was sent'));
      }
      let bulkId: string | undefined;
      try {
        const { template, route } = await prepareBulkSend(context.dispatcher, checked.body, keyHeader(request));
        // Accepted once kept in the store: a stop before the end leaves it to be resumed.
        bulkId = await context.bulkJobs.start(context.dispatcher, template, route, recipients, checked.body.provider);
      } finally {
        release();
      }
      if (bulkId === undefined) return shuttingDown(reply);
      return reply.code(202).send({ bulkId });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/bulk/:id',
    {
      schema: {
        summary: 'The report of a bulk run so far',
        description: 'Kept in memory by the server process that runs it. A run stopped before its end (a shutdown) is resumed by the next server on the store, which then reports it.',
        tags: ['emails'],
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: BULK_REPORT_SCHEMA, 404: { ...ERROR_SCHEMA, description: 'No such bulk run in this server process' }, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const report = context.bulkJobs.report(request.params.id);
      if (!report) return reply.code(404).send(errorDocument(`no bulk run "${request.params.id}" in this server`, [], 'bulk reports are kept in memory by the process that ran them, until it stops'));
      return report;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/emails/:id',
    {
      schema: {
        summary: "A message's current result",
        description: 'By idempotency key or outbox id (a message with that key comes first, so that keys of digits only are not read as outbox ids): delivered, queued (waiting in the outbox), rejected, dropped or expired.',
        tags: ['emails'],
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { id: { type: 'string', description: 'idempotency key or outbox id' } }, required: ['id'] },
        response: { 200: CURRENT_RESULT_SCHEMA, 404: { ...ERROR_SCHEMA, description: 'Unknown id' }, ...COMMON_ERRORS, 405: { ...ERROR_SCHEMA, description: 'GET on /emails/send or /emails/bulk (POST routes), or a method other than GET' } },
      },
    },
    async (request, reply) => {
      const result = await currentResult(context.store, request.params.id, context.handedOut);
      // GET on a POST route's path (a key named so aside): the method is wrong, not the id.
      if (!result && (request.params.id === 'send' || request.params.id === 'bulk')) {
        return reply.code(405).header('Allow', 'POST').send(errorDocument(`${request.method} is not allowed on /api/v1/emails/${request.params.id}: use POST`, [], 'GET /api/v1/openapi.json lists the routes'));
      }
      if (!result) return reply.code(404).send(errorDocument(`no message with outbox id or idempotency key "${request.params.id}"`, [], 'a message answered 422 (rejected) is not kept'));
      return result;
    },
  );
}
