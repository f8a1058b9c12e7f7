import { setFlagsFromString } from 'node:v8';

/**
 * Keeps a CLI bulk run's heap near the size start-up left it at (issue #21: peak RSS).
 *
 * A run keeps every batch in flight alive for a round trip, so each of its rows outlives a
 * young-generation collection or two. V8 reads that as a reason to double its young generation
 * (to 2 × 16 MB), and what it promotes stays in the old generation until a full collection,
 * which V8 puts off while the heap is allowed to grow: ~35–50 MB of peak RSS over 100,000 rows,
 * for a live heap of ~15 MB. Both growth rules are read at each collection, so they can be set
 * here, once start-up is done: the young generation stops growing, and the old one grows by half
 * instead of V8's dynamic factor. The price is CPU (~7–8 % more at
 * 100,000 rows, ~25 % at 1,000,000; sending time unchanged): see docs/benchmarks.md.
 *
 * Only for the CLI's own process, which ends with the run: `serve` is long-lived, and its heap
 * is tuned by whoever runs it (`node --max-semi-space-size`). PENGUINMAILS_BULK_HEAP=default
 * leaves V8's rules alone.
 */
export function holdBulkHeap(env: NodeJS.ProcessEnv = process.env): void {
  if (env.PENGUINMAILS_BULK_HEAP === 'default') return;
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=50');
}
