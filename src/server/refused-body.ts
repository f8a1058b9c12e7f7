import type { IncomingMessage } from 'node:http';

/** How long, and how much more, a body refused as too large is read before the connection is cut. */
export const REFUSED_BODY_DRAIN = { ms: 10_000, bodyLimits: 2 };

/**
 * A body refused as larger than server.bodyLimit is still arriving when the 413 goes out. Closing
 * the connection then, with its bytes unread, makes the kernel answer the client's next write with
 * a reset, which a client still writing often sees before the 413 (EPIPE instead of an answer). So
 * the rest is read and thrown away on a kept-alive connection, as Node does for a body no route
 * reads. It is bounded: past twice the body limit more, or ten seconds, the connection is closed.
 */
export function drainRefusedBody(request: IncomingMessage, bodyLimitBytes: number): void {
  if (request.complete) return;
  const maxBytes = REFUSED_BODY_DRAIN.bodyLimits * bodyLimitBytes;
  let drained = 0;
  const cut = (): void => void request.socket.destroy();
  const timer = setTimeout(cut, REFUSED_BODY_DRAIN.ms).unref();
  request.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > maxBytes) cut();
  });
  request.once('close', () => clearTimeout(timer));
  request.resume();
}
