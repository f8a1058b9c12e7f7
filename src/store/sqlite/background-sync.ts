import { close, constants, fdatasync, open } from 'node:fs';

/**
 * Writes one file's data out to disk in the background: an fdatasync in libuv's thread pool, off
 * the event loop, one at a time.
 *
 * For SQLite's write-ahead log. With `synchronous = NORMAL` a commit leaves its WAL frames in the
 * page cache, and the checkpoint that closing the database makes syncs the whole log first: after
 * a bulk run of 100,000 recipients, 8–13 MB, which that close waited 40–80 ms to write out on the
 * 2-core VM of docs/benchmarks.md (#21). Synced as the run goes, the log is mostly on disk by then.
 *
 * Only ever earlier than SQLite's own syncs, never instead of them: a failure (no such file, not a
 * file that can be synced, a read-only mount) is ignored, and leaves the work to SQLite.
 */
export class BackgroundSync {
  private running?: Promise<void>;
  /** Whether another sync was asked for while one ran (it starts when that one ends). */
  private again = false;
  /** Syncs that completed (for tests and diagnostics). */
  completed = 0;

  /** `file`: an absolute path (SQLite names its database so, see SqliteStore). */
  constructor(private readonly file: string) {}

  /** Starts a sync, or notes that one is due once the sync under way ends. */
  start(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.syncOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.start();
      }
    });
  }

  /** Resolves once no sync is under way or due (it never rejects). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private syncOnce(): Promise<void> {
    return new Promise((done) => {
      // Non-blocking: should the path be a FIFO, opening it must not wait for a writer (for ever).
      open(this.file, constants.O_RDONLY | constants.O_NONBLOCK, (openError, fd) => {
        if (openError) return done();
        fdatasync(fd, (syncError) => {
          if (!syncError) this.completed++;
          close(fd, () => done());
        });
      });
    });
  }
}
