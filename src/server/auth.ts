import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRepository } from '../store/ports.js';
import { errorDocument } from './errors.js';
import { ApiKeyCheck } from './key-check.js';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * `Authorization: Bearer <key>` on every /api/v1/ route: a missing, unknown or revoked key gets
 * 401 with `WWW-Authenticate: Bearer`. Runs before the body is read, so an unauthenticated
 * request costs no parsing. A key found valid is trusted for KEY_TRUST_MS (a revoked key is refused
 * within a second), and its lastUsedAt written at most once a minute (see key-check.ts).
 */
export function requireApiKey(keys: KeyRepository, onNoteFailure: (error: unknown) => void) {
  const check = new ApiKeyCheck(keys, { onNoteFailure });
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const presented = header ? BEARER.exec(header)?.[1] : undefined;
    const record = presented ? await check.check(presented) : undefined;
    if (record) {
      request.apiKeyName = record.name;
      return;
    }
    const missing = presented === undefined;
    reply.header('WWW-Authenticate', missing ? 'Bearer realm="penguinmails"' : 'Bearer realm="penguinmails", error="invalid_token"');
    return reply
      .code(401)
      .send(
        missing
          ? errorDocument('missing API key: send the header "Authorization: Bearer <key>"', [], '`penguinmails keys create --name <n>` makes a key')
          : errorDocument('unknown or revoked API key', [], '`penguinmails keys list` shows the keys; `keys create --name <n>` makes a new one'),
      );
  };
}
