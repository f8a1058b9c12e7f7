import { pruneEvents } from '../app/events.js';
import type { EventRepository } from '../store/ports.js';

/** How often `serve` removes events past `events.retention` (once at start, then this often). */
export const PRUNE_INTERVAL_MS = 60 * 60_000;

/** Keeps the events table to `events.retention`: a timer of its own, so it runs with the worker off too. */
export class EventRetention {
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;

  constructor(
    private readonly store: EventRepository,
    private readonly retentionMs: number,
    private readonly now: () => number,
    private readonly onPruned: (count: number) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Resolves when the first pass has ended (its failure is reported, not thrown). */
  async start(): Promise<void> {
    if (this.retentionMs <= 0) return;
    this.timer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.timer.unref();
    await this.prune();
  }

  private prune(): Promise<void> {
    if (this.pass) return this.pass;
    return (this.pass = pruneEvents(this.store, this.retentionMs, this.now())
      .then((count) => {
        if (count > 0) this.onPruned(count);
      }, this.onError)
      .finally(() => (this.pass = undefined)));
  }

  /** No pass starts any more; resolves when the one under way (if any) has ended. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }
}
