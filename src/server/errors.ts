import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { bodyPathOfMessageProblem, type BodyProblem } from '../app/platform-body.js';
import { formatByteSize } from '../core/byte-size.js';
import { IdempotencyConflictError, MessageValidationError, UserError } from '../core/errors.js';
import { isStoreUnreachable } from '../store/unreachable.js';
import { answeredEarly } from './unread-body.js';

/** The answer to a request that was not acted on (SPEC serve: 400 and the other 4xx): nothing was sent. */
export interface ErrorDocument {
  status: 'error';
  error: string;
  hint?: string;
  details: BodyProblem[];
  /** Problems past the first MAX_LISTED_DETAILS, counted, not listed. */
  detailsNotListed?: number;
}

/** A body with thousands of problems gets an answer of bounded size. */
export const MAX_LISTED_DETAILS = 100;

export function errorDocument(error: string, details: BodyProblem[] = [], hint?: string): ErrorDocument {
  const notListed = details.length - MAX_LISTED_DETAILS;
  return { status: 'error', error, ...(hint ? { hint } : {}), details: details.slice(0, MAX_LISTED_DETAILS), ...(notListed > 0 ? { detailsNotListed: notListed } : {}) };
}

/** A request the server refuses as it stands (400 unless said otherwise), with each problem by its path. */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly details: BodyProblem[] = [],
    readonly hint?: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = 'BadRequest';
  }
}

const NOTHING_SENT = 'nothing was sent; correct each field listed and send again';

/**
 * The message checks speak of fields the CLI's way ("to[0]: …", `idempotency key "…": …`):
 * each problem becomes a detail named by its path in the JSON body (or the header it came from).
 */
export function validationRequest(error: MessageValidationError, keyFromHeader: boolean): BadRequest {
  const details = error.problems.map((problem) => messageProblemPath(problem, keyFromHeader));
  return new BadRequest('invalid message', details, NOTHING_SENT);
}

/** A problem validateMessage found, by its path in the platform body, in the API's words. */
export function messageProblemPath(problem: string, keyFromHeader: boolean): BodyProblem {
  const named = bodyPathOfMessageProblem(problem, keyFromHeader);
  return { ...named, message: named.message.replace(' (use --recipients for bulk)', ' (use POST /api/v1/emails/bulk for bulk)') };
}

/** The answer to a request that arrives (or whose body ends) while the server shuts down: nothing was accepted. */
export function shuttingDown(reply: FastifyReply): FastifyReply {
  reply.header('Connection', 'close').header('Retry-After', '5');
  return reply.code(503).send(errorDocument('the server is shutting down: nothing was accepted', [], 'send it again to another instance, or once this one is back'));
}

/** Fastify's own refusals (body parsing and limits), in words a client can act on. */
function fastifyRefusal(error: FastifyError, request: FastifyRequest, bodyLimitBytes: number): { status: number; document: ErrorDocument } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      if (request.routeOptions.bodyLimit !== undefined && request.routeOptions.bodyLimit < bodyLimitBytes) {
        return { status: 413, document: errorDocument(`the body is larger than this route takes (${formatByteSize(request.routeOptions.bodyLimit)})`, [], 'nothing was stored') };
      }
      return { status: 413, document: errorDocument(`the body is larger than server.bodyLimit (${formatByteSize(bodyLimitBytes)})`, [], 'nothing was sent; send large lists in several bulk requests') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, document: errorDocument(`unsupported content type "${request.headers['content-type'] ?? ''}": send the body as application/json`, [], 'add the header Content-Type: application/json; nothing was sent') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, document: errorDocument('the body is empty: send one JSON object', [], 'nothing was sent') };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, document: errorDocument('the body is not valid JSON', [], 'nothing was sent; send one JSON object (check quotes, commas and brackets)') };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, document: errorDocument('the Content-Length header does not match the body', [], 'nothing was sent') };
    default:
      return undefined;
  }
}

/**
 * Every error a route lets through ends here: clients get a JSON document, never a stack trace;
 * anything unexpected is logged (redacted by the log stream) and answered as a plain 500.
 */
export function errorHandler(bodyLimitBytes: number) {
  return (error: FastifyError & { details?: BodyProblem[] }, request: FastifyRequest, reply: FastifyReply) => {
    const bad = error instanceof MessageValidationError ? validationRequest(error, false) : error;
    if (bad instanceof BadRequest) return reply.code(bad.statusCode).send(errorDocument(bad.message, bad.details, bad.hint));
    if (error instanceof IdempotencyConflictError) {
      const path = request.headers['idempotency-key'] !== undefined ? 'Idempotency-Key (header)' : 'idempotency_key';
      return reply.code(409).send(errorDocument(error.message, [{ path, message: 'already used for a different message' }], error.hint));
    }
    if (error instanceof UserError) return reply.code(400).send(errorDocument(error.message, detailsFromMessage(error.message), error.hint ?? 'nothing was sent'));
    const refusal = fastifyRefusal(error, request, bodyLimitBytes);
    if (refusal) return reply.code(refusal.status).send(refusal.document);
    if (error.statusCode === 429) return reply.code(429).send(errorDocument(error.message, [], 'wait for the number of seconds in Retry-After; nothing was sent'));
    if (error.validation) {
      const details = error.validation.map((v) => ({ path: v.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(request)', message: v.message ?? 'invalid' }));
      return reply.code(400).send(errorDocument('invalid request', details, NOTHING_SENT));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return reply.code(error.statusCode).send(errorDocument(error.message));
    // The store's connection, not the request (as /readyz answers).
    if (isStoreUnreachable(error)) {
      request.log.error({ err: { message: error.message } }, 'the store did not answer');
      return reply.code(503).header('Retry-After', '5').send(errorDocument('the store cannot be reached right now', [], 'a message may have gone out before the store went away: once GET /readyz answers 200, send it again with the same Idempotency-Key (a message sent is not sent twice), or GET /api/v1/emails/{key}'));
    }
    request.log.error({ err: { type: error.name, message: error.message, stack: error.stack } }, 'request failed');
    return reply.code(500).send(errorDocument('internal error', [], 'the server log has the details; the message may wait in the outbox: GET /api/v1/emails/{idempotency key} tells'));
  };
}

/** "provider: unknown provider …" → a detail for the field it names. */
function detailsFromMessage(message: string): BodyProblem[] {
  const named = /^([a-z_]+): (.+)$/s.exec(message);
  return named ? [{ path: named[1], message: named[2] }] : [];
}

/**
 * A request Node's HTTP parser refuses before Fastify sees it: a header value with CR or LF in
 * it, a malformed request line, headers too large. Answered as JSON, and the connection closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A request already answered (a 401 or 413 before its body was all read, see unread-body.ts)
  // gets no second answer when its body then times out: the connection is closed.
  if (error.code === 'ECONNRESET' || !socket.writable || answeredEarly.has(socket)) {
    socket.destroy();
    return;
  }
  const { status, document } = clientRefusal(error.code);
  const body = JSON.stringify(document);
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** The answer to a request Node refused before Fastify saw it. */
function clientRefusal(code: string | undefined): { status: string; document: ErrorDocument } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: '431 Request Header Fields Too Large', document: errorDocument('the request headers are too large') };
  // Past server.bodyTimeout (Node's requestTimeout, and its headersTimeout).
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    return { status: '408 Request Timeout', document: errorDocument('the request did not all arrive within server.bodyTimeout', [], 'nothing was sent; send the whole request at once') };
  }
  return { status: '400 Bad Request', document: errorDocument('malformed HTTP request: a header name or value is not valid (header values must not contain CR or LF)', [], 'nothing was sent') };
}
