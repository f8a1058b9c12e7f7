import { runWorkerPass, type WorkerPass } from '../app/outbox-worker.js';
import type { Dispatcher } from '../app/dispatcher.js';
import type { WorkerPolicy } from '../config/types.js';

/** The outbox worker inside `serve`: one pass right away, then one every worker.interval (never two at once). */
export class WorkerLoop {
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly policy: WorkerPolicy,
    private readonly onPass: (pass: WorkerPass) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = runWorkerPass(this.dispatcher, this.policy)
        .then(this.onPass, this.onError)
        .finally(() => {
          this.pass = undefined;
          this.schedule(this.policy.intervalMs);
        });
    }, delayMs);
  }

  /** No pass starts any more; resolves when the one under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }
}
