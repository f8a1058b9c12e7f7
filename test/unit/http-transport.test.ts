import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTransport } from '../../src/providers/http-transport.js';

const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<{ url: string; sockets: Set<unknown> }> {
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (socket) => sockets.add(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** The rejection of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<Error & { cause?: { code?: string } }> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: Error) => error,
  );
}

describe('HttpTransport (a fetch over node:http for the Postmark SDK)', () => {
  it('sends the body as UTF-8 bytes with its length, and answers status, headers and text', async () => {
    const { url } = await serve((req, res, body) => {
      res.setHeader('Retry-After', '7');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, length: req.headers['content-length'], token: req.headers['x-token'], body: body.toString('utf8') }));
    });
    const response = await new HttpTransport().fetch(`${url}/email/batch`, { method: 'POST', headers: { 'X-Token': 't' }, body: '[{"Subject":"Grüße ✓"}]' });
    expect(response.status).toBe(422);
    expect(response.ok).toBe(false);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(response.headers.get('Set-Cookie')).toBe('a=1, b=2');
    expect(response.headers.get('x-missing')).toBeNull();
    expect(JSON.parse(await response.text())).toEqual({ method: 'POST', length: String(Buffer.byteLength('[{"Subject":"Grüße ✓"}]')), token: 't', body: '[{"Subject":"Grüße ✓"}]' });
  });

  it('keeps the connection for the next call', async () => {
    const { url, sockets } = await serve((_req, res) => res.end('ok'));
    const transport = new HttpTransport();
    for (let i = 0; i < 3; i++) expect(await (await transport.fetch(url, { method: 'POST', body: String(i) })).text()).toBe('ok');
    expect(sockets.size).toBe(1);
  });

  it('connection refused: fetch failed, with the errno as the cause (never sent)', async () => {
    const { url } = await serve((_req, res) => res.end());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const error = await rejection(new HttpTransport().fetch(url, { method: 'POST', body: 'x' }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause?.code).toBe('ECONNREFUSED');
  });

  it('no answer in time after connecting: the signal\'s TimeoutError (the request may have arrived)', async () => {
    const { url } = await serve(() => {
      /* never answers */
    });
    const error = await rejection(new HttpTransport().fetch(url, { method: 'POST', body: 'x', signal: AbortSignal.timeout(200) }));
    expect(error.name).toBe('TimeoutError');
    expect(error.message).toMatch(/aborted due to timeout/);
  });

  it('a signal aborted before the call: rejected with its reason, nothing sent', async () => {
    let requests = 0;
    const { url } = await serve((_req, res) => {
      requests++;
      res.end();
    });
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    expect((await rejection(new HttpTransport().fetch(url, { method: 'POST', body: 'x', signal: controller.signal }))).message).toBe('stopped');
    expect(requests).toBe(0);
  });

  it('a connection cut in the middle of the answer: fetch failed', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const error = await rejection(new HttpTransport().fetch(url, { method: 'POST', body: 'x' }));
    expect(error.message).toBe('fetch failed');
  });

  it('refuses a URL that is not http or https', async () => {
    const error = await rejection(new HttpTransport().fetch('ftp://127.0.0.1/x'));
    expect(error.message).toBe('fetch failed');
    expect(error.cause?.code).toBe('ERR_INVALID_PROTOCOL');
  });
});
