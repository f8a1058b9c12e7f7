import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A canned answer injected in place of the normal behaviour. */
export interface Fault {
  status?: number;
  /** JSON-encoded unless it is a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait before answering (for timeouts: longer than the client's timeout). */
  delayMs?: number;
  /** Close the connection without answering. */
  destroy?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  rawBody: Buffer;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * Base of the fake ESP servers: a loopback HTTP server that records every request and answers
 * either with the injected faults (in order, then `persistentFault`) or with `handle`.
 */
export abstract class HttpFake {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: Fault[] = [];
  persistentFault?: Fault;
  /** Latency added to every answer (benchmarks). */
  latencyMs = 0;
  /** Benchmarks turn this off: a hundred thousand recorded bodies would make the fake itself slow. */
  keepBodies = true;
  /**
   * Awaited before a request is answered (after it is recorded): a test holds some calls this way,
   * as an ESP that has the request but has not answered yet when its caller is killed.
   */
  beforeAnswer?: (request: RecordedRequest) => Promise<void> | void;
  private server?: Server;
  url = '';

  protected abstract handle(request: RecordedRequest): Reply | Promise<Reply>;

  /** Queue faults answered to the next requests, one each. */
  failNext(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
    this.persistentFault = undefined;
    this.beforeAnswer = undefined;
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    // Like the real APIs, idle connections stay open for reuse (a short hint makes fetch drop them).
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    const address = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${address.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The latency is counted from the request's arrival: the fake's own work happens inside it,
    // as a real API's does.
    const arrived = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, rawBody: Buffer.concat(chunks) };
    this.requests.push(recorded);
    const fault = this.faults.shift() ?? this.persistentFault;
    await this.beforeAnswer?.(recorded);
    if (fault?.destroy) {
      await waitUntil(arrived + (fault.delayMs ?? 0) + this.latencyMs);
      req.socket.destroy();
      return;
    }
    const reply: Reply = fault?.status ? { status: fault.status, body: fault.body ?? '', headers: fault.headers } : await this.handle(recorded);
    if (!this.keepBodies) recorded.rawBody = Buffer.alloc(0);
    await waitUntil(arrived + (fault?.delayMs ?? 0) + this.latencyMs);
    const isText = typeof reply.body === 'string';
    res.writeHead(reply.status, { 'Content-Type': isText ? 'text/plain' : 'application/json', ...reply.headers });
    res.end(isText ? (reply.body as string) : JSON.stringify(reply.body));
  }
}

function waitUntil(time: number): Promise<void> {
  const wait = time - Date.now();
  return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
}
