import { createServer, connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { freshSchema, testPostgresUrl } from '../helpers/postgres.js';
import { call, createKey, startServer } from '../helpers/serve.js';

// serve while its PostgreSQL store cannot be reached (the database restarting, the network gone):
// API requests are told so with 503 and Retry-After, not 500, and /metrics still answers.
const url = testPostgresUrl();
const { postmark } = useFakeEsps();
const schema = freshSchema('pm_outage');
afterAll(() => (url ? schema.drop() : undefined));

/** A TCP relay to PostgreSQL that can be cut: every connection through it, and new ones, refused. */
async function relayTo(target: URL) {
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as { port: number }).port;
  return {
    port,
    cut: async () => {
      await new Promise<void>((resolve) => {
        relay.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

describe.skipIf(!url)('serve with its PostgreSQL store unreachable', () => {
  it('API requests get 503 with Retry-After; /metrics answers with penguinmails_store_up 0; /readyz 503', async () => {
    const target = new URL(url);
    const relay = await relayTo(target);
    const throughRelay = new URL(url);
    throughRelay.hostname = '127.0.0.1';
    throughRelay.port = String(relay.port);
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1, store: { url: throughRelay.toString(), schema: schema.name } });
    const key = await createKey(configPath, 'app');
    const server = await startServer(configPath, dir);
    try {
      const auth = { authorization: `Bearer ${key}` };
      expect((await call(server.url, 'GET', '/api/v1/emails/nothing-here', auth)).status).toBe(404);
      expect((await call(server.url, 'GET', '/metrics')).body).toMatch(/penguinmails_store_up 1/);
      await relay.cut();

      const lookup = await call(server.url, 'GET', '/api/v1/emails/nothing-here', { authorization: 'Bearer pm_live_not-a-key-of-this-server' });
      expect(lookup.status).toBe(503);
      expect(lookup.headers.get('retry-after')).toBe('5');
      expect(lookup.body).toMatchObject({ status: 'error', error: 'the store cannot be reached right now' });
      const metrics = await call(server.url, 'GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/penguinmails_store_up 0/);
      expect((await call(server.url, 'GET', '/readyz')).status).toBe(503);
    } finally {
      await server.stop();
    }
  });
});
