/**
 * The work under way in the server that must not be cut short by a shutdown: sends (including
 * those answered 202 when the request budget ran out) and bulk runs.
 */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  /** Tracks the work until it settles; its failure is left to whoever awaits `work`. */
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return work;
  }

  get size(): number {
    return this.running.size;
  }

  /** Waits until nothing is under way, or until `ms` have passed; returns how many are still running. */
  async drain(ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.running), new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
    return this.running.size;
  }
}
