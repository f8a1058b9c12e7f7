import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyApiKey } from '../app/api-keys.js';
import type { KeyRepository } from '../store/ports.js';
import { errorDocument } from './errors.js';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * `Authorization: Bearer <key>` on every /api/v1/ route: a missing, unknown or revoked key gets
 * 401 with `WWW-Authenticate: Bearer`. Runs before the body is read, so an unauthenticated
 * request costs no parsing.
 */
export function requireApiKey(keys: KeyRepository) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const presented = header ? BEARER.exec(header)?.[1] : undefined;
    const record = presented ? await verifyApiKey(keys, presented) : undefined;
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
