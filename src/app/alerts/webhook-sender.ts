import type { AlertSettings } from '../../config/types.js';
import type { AlertDocument } from './alert-document.js';
import { signatureHeader, SIGNATURE_HEADER } from './signature.js';

export interface WebhookSenderOptions {
  /** The first wait before a retry, doubling per retry (1s, 2s, 4s…). */
  backoffMs?: number;
  /** The clock the signature's timestamp is read from (the receiver compares it with its own). */
  now?: () => number;
  warn?: (message: string) => void;
}

type WebhookSettings = NonNullable<AlertSettings['webhook']>;

/**
 * POSTs alerts to `alerts.webhook.url`, one at a time in the order raised, each signed and retried
 * with doubling waits on network errors, timeouts, 5xx and 429 (another 4xx is the receiver saying
 * no: not retried). Never in a send's way: `enqueue` returns at once, the queue is bounded (past
 * `queueLimit` the oldest waiting alert is dropped — it is still in the events store), and every
 * timer is unref'd so a finished CLI command is held only by `drain`'s grace.
 */
export class AlertWebhookSender {
  /** Waiting to be POSTed (the one being POSTed is `inFlight`). */
  private readonly queue: AlertDocument[] = [];
  private inFlight: AlertDocument | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private abort: AbortController | undefined;
  private cancelWait: (() => void) | undefined;
  private readonly backoffMs: number;
  private readonly warn: (message: string) => void;
  /** Counts for the closing summary and the tests. */
  readonly counts = { delivered: 0, failed: 0, dropped: 0 };

  constructor(
    private readonly settings: WebhookSettings,
    options: WebhookSenderOptions = {},
  ) {
    this.backoffMs = options.backoffMs ?? 1_000;
    this.warn = options.warn ?? (() => undefined);
    this.now = options.now ?? Date.now;
  }

  private readonly now: () => number;

  /** Where POSTs go, for messages (the origin only: a path may carry a token). */
  get target(): string {
    return new URL(this.settings.url).origin;
  }

  /** Alerts not POSTed yet: waiting, and the one under way. */
  get waiting(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }

  enqueue(document: AlertDocument): void {
    if (this.stopped) return;
    if (this.queue.length >= this.settings.queueLimit) {
      this.queue.shift();
      if (this.counts.dropped++ === 0) this.warn(`alert webhook ${this.target}: more than ${this.settings.queueLimit} alerts waiting (alerts.webhook.queueLimit); dropping the oldest (they stay in the events store)`);
    }
    this.queue.push(document);
    this.running ??= this.work();
  }

  /** Waits until every alert waiting is POSTed (or given up on), at most `graceMs`; then stops. Returns how many were left. */
  async drain(graceMs: number): Promise<number> {
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, graceMs))))]);
      clearTimeout(timer);
    }
    const left = this.waiting;
    this.stop();
    return left;
  }

  /** Stops at once: the POST under way is aborted, nothing more is sent. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.inFlight = undefined;
    this.abort?.abort();
    this.cancelWait?.();
  }

  private async work(): Promise<void> {
    try {
      for (let document = this.queue.shift(); document && !this.stopped; document = this.queue.shift()) {
        this.inFlight = document;
        const delivered = await this.deliver(document);
        this.inFlight = undefined;
        if (delivered) this.counts.delivered++;
        else if (!this.stopped) this.counts.failed++;
      }
    } finally {
      // In the same tick as the empty queue was seen: the next enqueue starts a new loop.
      this.running = undefined;
    }
  }

  /** One alert, with its retries. */
  private async deliver(document: AlertDocument): Promise<boolean> {
    const body = JSON.stringify(document);
    for (let attempt = 0; attempt <= this.settings.retries && !this.stopped; attempt++) {
      if (attempt > 0) await this.wait(this.backoffMs * 2 ** (attempt - 1));
      if (this.stopped) return false;
      const result = await this.post(body, document.id);
      if (result === 'ok') return true;
      if (result === 'refused') return false;
      if (attempt === this.settings.retries) this.warn(`alert webhook ${this.target}: gave up on alert ${document.id} (${document.kind}) after ${attempt + 1} tries (last: ${result}); it stays in the events store`);
    }
    return false;
  }

  /** 'ok', 'refused' (a 4xx other than 408/429: not retried), or why it is worth retrying. */
  private async post(body: string, id: string): Promise<string> {
    this.abort = new AbortController();
    const timer = setTimeout(() => this.abort?.abort(new Error('timeout')), this.settings.timeoutMs);
    timer.unref();
    try {
      const response = await fetch(this.settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'penguinmails-alerts',
          'x-penguinmails-alert-id': id,
          [SIGNATURE_HEADER]: signatureHeader(this.settings.secret, body, Math.floor(this.now() / 1000)),
        },
        body,
        signal: this.abort.signal,
        // A redirect would carry the signed alert to a host nobody configured (and round the https rule).
        redirect: 'manual',
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return 'ok';
      if (response.status >= 300 && response.status < 400) {
        this.warn(`alert webhook ${this.target}: answered HTTP ${response.status} (a redirect) to alert ${id}; redirects are not followed: set alerts.webhook.url to where it points`);
        return 'refused';
      }
      if (response.status >= 500 || response.status === 429 || response.status === 408) return `HTTP ${response.status}`;
      this.warn(`alert webhook ${this.target}: answered HTTP ${response.status} to alert ${id}; not retried (check alerts.webhook.url and the receiver's secret)`);
      return 'refused';
    } catch (error) {
      if (this.stopped) return 'stopped';
      return timedOut(error) ? `no answer within ${this.settings.timeoutMs}ms` : `${causeText(error)}`;
    } finally {
      clearTimeout(timer);
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.cancelWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function timedOut(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.message === 'timeout') || error.message === 'timeout');
}

function causeText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause as { code?: string; message?: string } | undefined;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}
