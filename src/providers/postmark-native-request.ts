import type { ServerClient } from 'postmark';

/**
 * postmark.js ships compiled to ES5: its HTTP client's async methods (FetchHttpClient.httpRequest
 * and the parseResponseBody it awaits) run on TypeScript's generator helper, whose state lives in
 * closure contexts. A call waits for its answer long enough for those contexts to be moved to V8's
 * old generation; once the answer is in, they hold the answer's text and its parsed form, and a
 * young collection cannot tell that an old object is dead: until the next full collection, every
 * answer is kept alive, then promoted itself (~75 KB of text and ~110 KB of objects per batch of
 * 500). In a 100,000-row Postmark run that was ~30 of the ~54 MB promoted, and 5 of its 8 full
 * collections (#21, docs/benchmarks.md, sixteenth pass).
 *
 * So each client this adapter makes runs the same steps as FetchHttpClient.httpRequest, with the
 * SDK's own helpers for each (the URL, the timeout signal, its errors), as a native async function,
 * whose frame V8 lets go of when it returns. Only where the client has every helper these steps
 * use; anywhere else the SDK's own method runs (correct, only slower). Tests hold the two to the
 * same results and errors.
 */
export function withNativeAsyncRequests(client: ServerClient): boolean {
  const http = (client as unknown as { httpClient?: Partial<Record<keyof FetchHttpClientSteps | 'httpRequest', unknown>> }).httpClient;
  if (!http || typeof http.httpRequest !== 'function' || !STEPS.every((step) => typeof http[step] === 'function')) return false;
  // This client's own property: the SDK's prototype, shared with anyone else's clients, is left alone.
  http.httpRequest = httpRequest;
  return true;
}

/** What FetchHttpClient has and httpRequest uses (private in the SDK's types, there at run time). */
interface FetchHttpClientSteps {
  /** The fetch the client was given (the adapter's). */
  client(url: string, init: { method: string; headers: unknown; body?: string; signal: AbortSignal }): Promise<{ status: number; text(): Promise<string> }>;
  buildRequestURL(path: string, queryParameters: object): string;
  buildTimeoutSignal(): AbortSignal;
  transformError(error: unknown): Error;
  buildRequestError(data: unknown, status: number): Error;
}

const STEPS: (keyof FetchHttpClientSteps)[] = ['client', 'buildRequestURL', 'buildTimeoutSignal', 'transformError', 'buildRequestError'];

/** FetchHttpClient.httpRequest's steps, in its order (postmark 5.x, dist/client/HttpClient.js). */
async function httpRequest(this: FetchHttpClientSteps, method: string, path: string, queryParameters: object, body: object | null, requestHeaders: unknown): Promise<unknown> {
  let response: { status: number; text(): Promise<string> };
  try {
    response = await this.client(this.buildRequestURL(path, queryParameters), {
      method,
      headers: requestHeaders,
      body: body === null || body === undefined ? undefined : JSON.stringify(body),
      signal: this.buildTimeoutSignal(),
    });
  } catch (error) {
    // Network errors, aborts and timeouts reject the fetch.
    throw this.transformError(error);
  }
  // parseResponseBody: JSON, an empty body as {}, anything else as its text.
  const text = await response.text();
  let data: unknown = {};
  if (text !== '') {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (response.status >= 200 && response.status < 300) return data;
  throw this.buildRequestError(data, response.status);
}
