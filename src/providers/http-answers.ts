import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** The status line and headers of an HTTP answer. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Filled in while a call runs: the last answer that reached any request the call made. */
export interface AnswerWatch {
  answer?: HttpAnswer;
}

interface Watching {
  calls: AsyncLocalStorage<AnswerWatch>;
  /** Calls whose request carries a Content-Type of their own (a multipart boundary): see watchAnswersByContentType. */
  byContentType: Map<string, AnswerWatch>;
  requests: WeakMap<ClientRequest, AnswerWatch>;
}

let watching: Watching | undefined;

/**
 * Runs `call` and notes in `watch` the answer to the node:http(s) requests it makes, read below
 * an SDK that keeps only the status and body (mailgun.js drops the headers, Retry-After among
 * them, from its errors).
 *
 * The match is exact, also for calls at once over shared keep-alive sockets: node:http publishes
 * `http.client.request.start` in the async context of the code that sent the request, so the
 * request is tied to the watch of the call running there; `http.client.response.finish` then
 * brings the answer with its request.
 */
export function watchHttpAnswers<T>(watch: AnswerWatch, call: () => Promise<T>): Promise<T> {
  watching ??= startWatching();
  return watching.calls.run(watch, call);
}

/**
 * The same, for a call whose request is known by its Content-Type: each multipart body of the
 * process has a boundary of its own (a random part, then a count), so no other request has it.
 * Unlike watchHttpAnswers this keeps async_hooks off: on Node 20, once an AsyncLocalStorage has
 * run, every promise of the process pays for its context (~4 % of a bulk run's instructions, #21).
 * Returns what ends the watch, for when the call is over.
 */
export function watchAnswersByContentType(watch: AnswerWatch, contentType: string): () => void {
  const { byContentType } = (watching ??= startWatching());
  byContentType.set(contentType, watch);
  return () => byContentType.delete(contentType);
}

/** Subscribes once per process, on first use. */
function startWatching(): Watching {
  const calls = new AsyncLocalStorage<AnswerWatch>();
  const byContentType = new Map<string, AnswerWatch>();
  const requests = new WeakMap<ClientRequest, AnswerWatch>();
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    const contentType = byContentType.size > 0 ? request.getHeader('content-type') : undefined;
    const watch = (typeof contentType === 'string' ? byContentType.get(contentType) : undefined) ?? calls.getStore();
    if (watch) requests.set(request, watch);
  });
  subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const watch = requests.get(request);
    if (watch) watch.answer = { status: response.statusCode ?? 0, headers: response.headers };
  });
  return { calls, byContentType, requests };
}
