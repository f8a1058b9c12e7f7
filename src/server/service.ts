import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { redactApiKeys } from '../app/api-keys.js';
import { openAlerts } from '../app/alerts/open-alerts.js';
import { Dispatcher } from '../app/dispatcher.js';
import { newLeaseOwner } from '../app/lease-owner.js';
import type { Config } from '../config/types.js';
import { redactSecrets } from '../core/secrets.js';
import type { Store } from '../store/ports.js';
import { buildApp } from './app.js';
import { BulkJobs, MAX_RUNNING_BULK_JOBS } from './bulk-jobs.js';
import type { ServerContext } from './context.js';
import { EventRetention } from './event-retention.js';
import { InFlight } from './in-flight.js';
import { HandedOutIds } from './message-status.js';
import { ServerMetrics } from './metrics.js';
import { routeBulkTemplate } from './prepare.js';
import { WorkerLoop } from './worker-loop.js';

/** Every log line passes through here: known ESP secrets and anything shaped like an API key are masked. */
export class RedactingLog extends Writable {
  constructor(private readonly target: NodeJS.WritableStream) {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.target.write(redactApiKeys(redactSecrets(chunk.toString())));
    done();
  }
}

export interface ServiceOptions {
  config: Config;
  store: Store;
  host: string;
  port: number;
  log: NodeJS.WritableStream;
  logLevel: string;
}

export interface RunningService {
  /** http://HOST:PORT with the port actually bound (port 0 picks a free one). */
  url: string;
  /**
   * Stops accepting (503), lets sends and bulk runs under way finish within server.shutdownGrace,
   * stops the worker, and closes. What is still sending after the grace stays in the outbox (the
   * send service recorded it before calling a provider). Returns how many sends were cut short.
   */
  shutdown(): Promise<{ unfinished: number }>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, store } = options;
  const metrics = new ServerMetrics(store, Object.keys(config.providers));
  const log = new RedactingLog(options.log);
  // Told before the app exists (a warning about the webhook's secret): the logger is not there yet.
  const alertWarnings: string[] = [];
  let warnAlert = (message: string): void => {
    alertWarnings.push(message);
  };
  const alerts = openAlerts(config, store, { count: (alert) => metrics.recordAlert(alert), warn: (message) => warnAlert(message) });
  const dispatcher = new Dispatcher(config, store, { onAttempt: (attempt) => metrics.recordAttempt(attempt), alerts });
  const bulkJobs = new BulkJobs(store, newLeaseOwner(), (message) => app.log.warn({ bulk: true }, message));
  const context: ServerContext = { config, store, dispatcher, metrics, inFlight: new InFlight(), bulkJobs, handedOut: new HandedOutIds(), shuttingDown: false, waitingRequests: new Set() };
  const app = await buildApp(context, { log, logLevel: options.logLevel });
  await app.listen({ host: options.host, port: options.port });
  warnAlert = (message) => {
    app.log.warn({ alerts: true }, message);
  };
  for (const message of alertWarnings) warnAlert(message);
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const worker = new WorkerLoop(
    dispatcher,
    config.worker,
    (pass) => {
      for (const result of pass.results) {
        if (result.status !== 'skipped') metrics.recordResult(result.status === 'pending' || result.status === 'ambiguous' ? 'queued' : result.status, result.provider, result.attempts);
        app.log.info({ outboxId: result.id, status: result.status, provider: result.provider, reason: result.reason }, 'worker retry');
      }
      for (const id of pass.expired) app.log.warn({ outboxId: id }, 'expired: not delivered within worker.maxAge');
    },
    (error) => app.log.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'worker pass failed'),
  );
  if (config.worker.enabled) worker.start();
  // Bulk runs accepted before a stop (this server's, or another's that stopped or died): resumed
  // now, then looked for at every worker.interval.
  const resumeBulkRuns = async () => {
    try {
      const resumed = await bulkJobs.resumeWaiting(dispatcher, MAX_RUNNING_BULK_JOBS, (template, forceProvider) => routeBulkTemplate(dispatcher, template, forceProvider));
      for (const bulkId of resumed) app.log.info({ bulkId }, 'bulk run resumed: recipients already delivered are skipped');
    } catch (error) {
      app.log.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'looking for bulk runs to resume failed');
    }
  };
  await resumeBulkRuns();
  const bulkResumer = setInterval(() => void resumeBulkRuns(), config.worker.intervalMs).unref();
  for (const [provider, missing] of Object.entries(config.unresolvedWebhookEnv)) {
    app.log.warn({ provider, variables: missing.map((m) => m.variable) }, 'this webhook answers 503 until its environment variables are set (sending through the provider is not affected)');
  }
  const retention = new EventRetention(
    store,
    config.events.retentionMs,
    dispatcher.now,
    (count) => app.log.info({ events: count }, 'removed events past events.retention'),
    (error) => app.log.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'removing old events failed'),
  );
  await retention.start();

  return {
    url: `http://${host}:${address.port}`,
    async shutdown() {
      context.shuttingDown = true;
      clearInterval(bulkResumer);
      // No bulk run starts from now on (accepted or resumed); the runs going on go on within the grace.
      context.bulkJobs.stopAll(false);
      await context.bulkJobs.resumed();
      const graceMs = config.server.shutdownGraceMs;
      const deadline = Date.now() + graceMs;
      app.log.info({ inFlight: context.inFlight.size, bulkRuns: context.bulkJobs.running, graceMs }, 'shutting down: finishing the sends under way');
      const workerStopped = Promise.all([worker.stop(), retention.stop()]);
      let unfinished = await context.inFlight.drain(graceMs);
      await within(context.bulkJobs.settled(), deadline - Date.now());
      if (context.bulkJobs.running > 0) {
        // Calls under way end and are recorded; the rest of each list stays in the store, resumed on the next start.
        context.bulkJobs.stopAll();
        await within(context.bulkJobs.settled(), 10_000);
      }
      await within(workerStopped, Math.max(0, deadline - Date.now()));
      unfinished = context.inFlight.size;
      if (unfinished > 0) app.log.warn({ unfinished }, 'shutdown grace over: sends still under way stay in the outbox (ambiguous if a provider may have them)');
      for (const stopWaiting of context.waitingRequests) stopWaiting();
      await within(app.close(), 5_000);
      // Alerts of the last sends: stored before the store closes, POSTed within a short grace.
      await alerts.close();
      await dispatcher.close();
      // A send cut short still holds the store; closing it under that send would only add errors.
      if (unfinished === 0 && context.bulkJobs.running === 0) await store.close();
      return { unfinished };
    },
  };
}

/** Waits for `work`, at most `ms`. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
