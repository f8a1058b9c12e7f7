import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const BUILT = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/cli/bulk-heap.js')).href;

/**
 * The young generation's largest size (MB, both halves) in a fresh process whose rows outlive
 * young collections, as a bulk run's rows in flight do; V8 reads the rules at each collection.
 */
function youngGenerationPeakMb(env: Record<string, string>, hold: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { holdBulkHeap } from ${JSON.stringify(BUILT)};
    if (${hold}) holdBulkHeap(${JSON.stringify(env)});
    let peak = 0;
    const inFlight = new Array(20_000);
    for (let i = 0; i < 400_000; i++) {
      inFlight[i % inFlight.length] = { email: 'user' + i + '@example.com', fields: { name: 'User ' + i }, digest: String(i).padStart(24, '0') };
      if (i % 1000 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        peak = Math.max(peak, getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size);
      }
    }
    console.log(peak / 1048576);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  return Number(child.stdout);
}

describe('the heap rules of a CLI bulk run (#21)', () => {
  it('stops the young generation at 2 × 8 MB, where V8 alone takes it to 2 × 16 MB', () => {
    expect(youngGenerationPeakMb({}, false)).toBe(32);
    expect(youngGenerationPeakMb({}, true)).toBe(16);
  });

  it('PENGUINMAILS_BULK_HEAP=default leaves V8 its own rules', () => {
    expect(youngGenerationPeakMb({ PENGUINMAILS_BULK_HEAP: 'default' }, true)).toBe(32);
  });
});
