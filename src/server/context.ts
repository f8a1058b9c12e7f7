import type { Dispatcher } from '../app/dispatcher.js';
import type { Config } from '../config/types.js';
import type { Store } from '../store/ports.js';
import type { BulkJobs } from './bulk-jobs.js';
import type { InFlight } from './in-flight.js';
import type { HandedOutIds } from './message-status.js';
import type { ServerMetrics } from './metrics.js';

/** What the routes work with: the application layer's pieces, shared by every request of the process. */
export interface ServerContext {
  config: Config;
  store: Store;
  dispatcher: Dispatcher;
  metrics: ServerMetrics;
  inFlight: InFlight;
  bulkJobs: BulkJobs;
  handedOut: HandedOutIds;
  /** Set once SIGTERM/SIGINT arrived: new requests get 503. */
  shuttingDown: boolean;
  /** Requests waiting for a send: called when the shutdown grace is over, they answer 202 at once. */
  waitingRequests: Set<() => void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the API key the request came with (after authentication). */
    apiKeyName?: string;
  }
}
