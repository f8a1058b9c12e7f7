import { getHeapSpaceStatistics } from 'node:v8';
import { setV8FlagAtRunTime } from './v8-flags.js';

/** The young generation's size (both halves) past which a bulk run stops it growing. */
const YOUNG_GENERATION_CAP_BYTES = 16 * 1024 * 1024;

/**
 * Keeps a CLI bulk run's heap small without paying much CPU for it (issue #21: peak RSS and CPU).
 *
 * A run keeps every batch in flight alive for a round trip, so each of its rows outlives a
 * young-generation collection or two. V8 reads that as a reason to double its young generation,
 * up to 2 × 16 MB, and what it promotes stays in the old generation until a full collection,
 * which V8 puts off while the heap may grow: ~145 MB of peak RSS over 100,000 rows for a live heap
 * of ~15 MB. So the old generation may only double before a full collection instead of growing by
 * V8's dynamic factor, and the young one stops growing at 2 × 8 MB. Stopping it smaller (the size
 * start-up left it at, 2 × 2 MB) saved ~10 MB more but cost ~15 % more CPU: rows in flight outlived
 * the short collection cycles and were promoted, ~90 MB of them over 100,000 rows against ~55 MB.
 * Letting the old generation grow by half only, as before, took ~4 MB off Mailgun's peak and cost
 * 2–3 % more instructions at 100,000 rows and ~16 % more CPU at 1,000,000: six full collections of
 * the ~15 MB heap (mostly code) instead of four (docs/benchmarks.md, eighth pass).
 *
 * Both rules are read at each collection, so they can be set while the process runs: the young
 * generation's is set after the collection that takes it to the cap, from a GC observer.
 *
 * Only for the CLI's own process, which ends with the run: `serve` is long-lived, and its heap
 * is tuned by whoever runs it (`node --max-semi-space-size`). PENGUINMAILS_BULK_HEAP=default
 * leaves V8's rules alone.
 */
export function holdBulkHeap(env: NodeJS.ProcessEnv = process.env): void {
  if (env.PENGUINMAILS_BULK_HEAP === 'default') return;
  setV8FlagAtRunTime('--heap-growing-percent=100');
  if (stopYoungGrowthAtCap()) return;
  // Loaded here: only a bulk run needs it (start-up, #21).
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  const observer = new PerformanceObserver(() => {
    if (stopYoungGrowthAtCap()) observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** Once the young generation has reached the cap, V8 keeps it at its size. */
function stopYoungGrowthAtCap(): boolean {
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  if (young && young.space_size < YOUNG_GENERATION_CAP_BYTES) return false;
  setV8FlagAtRunTime('--semi-space-growth-factor=1');
  return true;
}
