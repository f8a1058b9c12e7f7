import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// The progress bar is drawn only on a terminal: run the built CLI on a pseudo-terminal (util-linux `script`).
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const { postmark } = useFakeEsps();

describe.skipIf(!hasScript)('bulk progress on a terminal', () => {
  it('shows a bar with the count, the rate and an ETA, then the summary', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    const list = path.join(dir, 'list.csv');
    writeFileSync(list, ['email,name', ...Array.from({ length: 1500 }, (_, i) => `p${i}@example.com,P${i}`)].join('\n') + '\n');
    postmark.latencyMs = 150;
    const command = [process.execPath, BIN, 'send', '--config', configPath, '--recipients', list, '--subject', 'Hi {{name}}', '--text', 'x', '--concurrency', '1'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...TEST_ENV, NO_COLOR: '1' } });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(screen).toMatch(/\[#*-*\] [\d,]+\/1,500 recipients {2}[\d,]+\/s {2}ETA \d+s/);
    expect(screen).toMatch(/delivered\s+1,500/);
  }, 30_000);
});
