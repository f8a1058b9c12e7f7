export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every 100 ms until `check` holds (a worker, a background send or another process
 * takes its time), or gives up after `ms` and returns the last value: the assertion that follows
 * then says what was wrong.
 */
export async function eventually<T>(probe: () => Promise<T>, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (check(value) || Date.now() > deadline) return value;
    await pause(100);
  }
}
