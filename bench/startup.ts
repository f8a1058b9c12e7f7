/**
 * Start-up benchmark: `penguinmails --help` and `cost estimate` against a bare `node -e ''`.
 * Target: --help within 1.4× of bare node.   npm run bench:startup -- [runs=20]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const runs = Number(process.argv[2] ?? 20);
const bin = path.resolve(import.meta.dirname, '../../bin/penguinmails.js');

function median(args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    spawnSync(process.execPath, args, { stdio: 'ignore' });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const bare = median(['-e', '']);
console.log(`median of ${runs} runs`);
console.log(`  node -e ''                        ${bare.toFixed(1)} ms`);
for (const args of [['--help'], ['send', '--help'], ['cost', 'estimate', '--volume', '100000', '--transactional', '5000']]) {
  const ms = median([bin, ...args]);
  console.log(`  penguinmails ${args.join(' ').padEnd(20)} ${ms.toFixed(1)} ms  (${(ms / bare).toFixed(2)}× bare node)`);
}
