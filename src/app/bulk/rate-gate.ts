/**
 * One per provider, shared by every worker of a bulk run: a 429 from the provider pauses all calls
 * to it until the Retry-After (or the retry delay) has passed, so a rate limit slows the run down.
 * A pause can be cut short (Ctrl-C): the run is stopping, nobody waits any longer.
 */
export class RateGate {
  private resumeAt = 0;
  private released = false;
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  pauses = 0;

  constructor(private readonly now: () => number) {}

  pause(ms: number): void {
    this.pauses++;
    this.resumeAt = Math.max(this.resumeAt, this.now() + ms);
  }

  async wait(): Promise<void> {
    for (let left = this.resumeAt - this.now(); left > 0 && !this.released; left = this.resumeAt - this.now()) await this.sleep(left);
  }

  /** Sleeps `ms` (a send-side rate-limit wait: not a pause of the provider's), unless released. */
  async hold(ms: number): Promise<void> {
    if (!this.released) await this.sleep(ms);
  }

  /** Ends every wait now, and every later one at once. */
  release(): void {
    this.released = true;
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.sleepers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = { timer: setTimeout(() => this.sleepers.delete(sleeper) && resolve(), ms), wake: resolve };
      this.sleepers.add(sleeper);
    });
  }
}

/**
 * At most `limit` tasks at once; `run` waits for a free slot before starting. A task that throws
 * is not left as an unhandled rejection: the first error is kept, `failed` turns true (so the
 * caller stops starting work), and `drain` rethrows it once every other task has finished.
 */
export class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly running = new Set<Promise<void>>();
  private firstError: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  get failed(): boolean {
    return this.firstError !== undefined;
  }

  async run(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    const promise: Promise<void> = task()
      .catch((error: unknown) => {
        this.firstError ??= { error };
      })
      .finally(() => {
        this.active--;
        this.running.delete(promise);
        this.waiting.shift()?.();
      });
    this.running.add(promise);
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    if (this.firstError) throw this.firstError.error;
  }
}

/** At most `limit` tasks at once; `use` waits for a turn, runs the task and gives its result. */
export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.free = limit;
  }

  async use<T>(task: () => Promise<T>): Promise<T> {
    while (this.free === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.free--;
    try {
      return await task();
    } finally {
      this.free++;
      this.waiting.shift()?.();
    }
  }
}
