/**
 * Group commit: the small writes of concurrent sends share one SQLite transaction.
 *
 * A commit costs far more than the statements in it (~50 µs against a few µs on the VM of
 * docs/benchmarks.md: WAL frames, file locks), and one send makes several small writes (its run
 * lock, the attempt record, the delivery, letting both go). A server sending many messages at once
 * would spend most of its store time committing. So a write joins a queue, and everything queued
 * while the event loop works through the I/O at hand is committed together once that is done
 * (setImmediate), in one write transaction.
 *
 * What a caller sees is unchanged: its promise resolves only once the transaction holding its
 * write has committed, with the write's own result, so "recorded before the provider is called"
 * still holds (a process that dies first never called the provider). Each write runs in queue
 * order inside the transaction, so a read-then-write (taking a lock) decides on what the writes
 * queued before it left. A write that throws rolls the whole batch back; each write then runs
 * again in a transaction of its own, so only that one fails.
 */
export class GroupCommit {
  private queue: { work: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  /** `atomically` runs its work as one write transaction (rolled back if the work throws). */
  constructor(private readonly atomically: <T>(work: () => T) => T) {}

  /** Runs `work` (synchronous SQL) in the next group transaction; resolves once that has committed. */
  write<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (also before the database closes, so no queued write is left behind). */
  flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    if (batch.length === 0) return;
    let results: unknown[];
    try {
      results = this.atomically(() => batch.map((item) => item.work()));
    } catch {
      for (const item of batch) {
        try {
          item.resolve(this.atomically(item.work));
        } catch (error) {
          item.reject(error);
        }
      }
      return;
    }
    batch.forEach((item, i) => item.resolve(results[i]));
  }
}
