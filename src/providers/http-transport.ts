import type { Agent, ClientRequest, RequestOptions } from 'node:http';

/**
 * The part of a fetch Response an SDK that takes a `fetch` option reads (postmark.js: the status
 * and the text of the body; the adapter: Retry-After).
 */
export interface TransportResponse {
  status: number;
  /** The reason phrase (`Too Many Requests`). */
  statusText: string;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface TransportRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal | null;
}

type HttpClient = { agent: Agent; request: (url: URL, options: RequestOptions) => ClientRequest };

/** No answer within the time allowed, and no connection either: the request never left. */
export const CONNECT_TIMEOUT = 'CONNECT_TIMEOUT';

/**
 * A fetch-shaped call over node:http(s) with keep-alive connections. Used instead of the global
 * fetch for bulk-sized requests: with undici's fetch a Postmark bulk run took ~20 MB more memory
 * and ~5% more time (its parser and stream machinery per call), measured in bench/bulk.ts.
 *
 * Failures look like fetch's, so callers classify them the same way: a network error rejects
 * with TypeError('fetch failed') whose `cause` has the errno `code`; an aborted call rejects with
 * the signal's reason (a TimeoutError for AbortSignal.timeout) — or, when it never got a
 * connection, with a cause coded CONNECT_TIMEOUT, since such a request was certainly not sent.
 */
export class HttpTransport {
  /** Per protocol, made on first use (node:https loads TLS: commands that send nothing skip it). */
  private readonly clients = new Map<string, HttpClient>();

  fetch = async (input: string | URL, init: TransportRequest = {}): Promise<TransportResponse> => {
    const url = new URL(String(input));
    const client = await this.clientFor(url.protocol);
    // Bytes now, and the rest of init left behind: the text of a large body is then garbage
    // before the call goes out, instead of living as long as the call.
    const body = typeof init.body === 'string' ? Buffer.from(init.body) : init.body;
    const headers = { ...init.headers, ...(body ? { 'content-length': String(body.byteLength) } : {}) };
    return this.call(client, url, { method: init.method ?? 'GET', headers, agent: client.agent }, body, init.signal ?? undefined);
  };

  /** Loads node:http(s) now (a bulk run's set-up); no connection is made. */
  async prepare(protocol: 'http:' | 'https:'): Promise<void> {
    await this.clientFor(protocol);
  }

  private async clientFor(protocol: string) {
    let client = this.clients.get(protocol);
    if (!client) {
      if (protocol !== 'http:' && protocol !== 'https:') throw new TypeError('fetch failed', { cause: Object.assign(new Error(`unsupported protocol ${protocol}`), { code: 'ERR_INVALID_PROTOCOL' }) });
      const module = protocol === 'https:' ? await import('node:https') : await import('node:http');
      client = { agent: new module.Agent({ keepAlive: true }), request: module.request };
      this.clients.set(protocol, client);
    }
    return client;
  }

  private call(client: HttpClient, url: URL, options: RequestOptions, body: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const request = client.request(url, options);
      let connected = false;
      const fail = (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = () => {
        const reason = connected ? signal!.reason : new TypeError('fetch failed', { cause: Object.assign(new Error('no connection before the time allowed'), { code: CONNECT_TIMEOUT }) });
        request.destroy();
        fail(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('socket', (socket) => {
        // A kept-alive socket is connected already; a new one says so when it is.
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      request.on('error', (error) => fail(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error })));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
        response.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          const responseHeaders = response.headers;
          resolve({
            status,
            statusText: response.statusMessage ?? '',
            ok: status >= 200 && status < 300,
            headers: { get: (name) => headerValue(responseHeaders[name.toLowerCase()]) },
            text: () => Promise.resolve(text),
          });
        });
      });
      request.end(body);
      // The handlers above keep this scope alive until the answer comes; the body need not live
      // that long (see fetch).
      body = undefined;
    });
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}
