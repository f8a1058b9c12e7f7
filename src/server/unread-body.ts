import type { IncomingMessage } from 'node:http';

/**
 * Connections whose request was answered before its body was in: if that body then times out
 * (server.bodyTimeout), the connection is closed without a second answer (clientErrorHandler).
 */
export const answeredEarly = new WeakSet<object>();

/** How much more of an unread body is read, and for how long, before the connection is cut. */
const UNREAD_BODY_DRAIN = { ms: 10_000, bodyLimits: 2 };

/**
 * A request can be answered while its body is still arriving: a 413 past server.bodyLimit, a 401
 * or a 415 decided from the headers alone. Closing the connection then, with body bytes unread,
 * makes the kernel answer the client's next write with a reset, which a client still writing
 * often sees before the answer (EPIPE instead of a 413). So the rest is read and thrown away:
 *
 * - on a kept-alive connection, the next request is then read as usual (Node would read the
 *   rest too, but without any bound);
 * - on a connection that closes after the answer (the client asked, HTTP/1.0, or Fastify after a
 *   body it refused), the answer goes out with the server's side shut, and the socket is closed
 *   once the body is in: a "lingering close" (RFC 9112, section 9.6).
 *
 * It is bounded: past twice the body limit more, or ten seconds, the connection is cut.
 */
export function drainUnreadBody(request: IncomingMessage, bodyLimitBytes: number): void {
  if (request.complete) return;
  const socket = request.socket;
  answeredEarly.add(socket);
  const maxBytes = UNREAD_BODY_DRAIN.bodyLimits * bodyLimitBytes;
  let drained = 0;
  const cut = (): void => void socket.destroy();
  const timer = setTimeout(cut, UNREAD_BODY_DRAIN.ms).unref();
  // Node closes a connection that is not kept alive with socket.destroySoon() once the answer is
  // written; until this body is in, that only shuts the server's side (the prototype's method is
  // put back after).
  let closeAsked = false;
  socket.destroySoon = () => {
    closeAsked = true;
    socket.end();
  };
  request.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > maxBytes) cut();
  });
  request.once('end', () => {
    clearTimeout(timer);
    // The body is in: the connection's next request (kept alive) is answered as any other.
    answeredEarly.delete(socket);
    delete (socket as { destroySoon?: unknown }).destroySoon;
    if (closeAsked) socket.destroySoon();
  });
  request.once('close', () => clearTimeout(timer));
  request.resume();
}
