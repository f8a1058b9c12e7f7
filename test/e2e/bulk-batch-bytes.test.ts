import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';

// Postmark takes at most 50 MB per /email/batch request; each copy carries the attachment whole.
const { postmark } = useFakeEsps();

describe('bulk batches and attachments', () => {
  it('a list with an attachment is split into Postmark batches under 50 MB each, everyone once', async () => {
    // Large requests: a generous timeout, so a busy machine does not turn a slow answer into "ambiguous".
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], timeout: '30s' });
    writeFileSync(path.join(dir, 'brochure.pdf'), randomBytes(300_000));
    writeFileSync(path.join(dir, 'list.csv'), ['email', ...Array.from({ length: 250 }, (_, i) => `u${i}@example.com`)].join('\n'));
    const result = await runCli(['send', '--config', configPath, '--recipients', path.join(dir, 'list.csv'), '--subject', 'Hi', '--text', 'x', '--type', 'marketing', '--attach', path.join(dir, 'brochure.pdf'), '--json'], { env: TEST_ENV, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ delivered: 250 });
    const sizes = postmark.requests.map((r) => r.rawBody.length);
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(50_000_000);
    const to = postmark.sent.flatMap((s) => (s.body as { To: string }[]).map((m) => m.To));
    expect(new Set(to).size).toBe(250);
    expect(to).toHaveLength(250);
  }, 60_000);

  it('an attachment over the first provider’s message limit stops a bulk send before anything is sent', async () => {
    const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'] });
    writeFileSync(path.join(dir, 'big.bin'), randomBytes(8_000_000));
    writeFileSync(path.join(dir, 'list.csv'), 'email\na@example.com\n');
    const result = await runCli(['send', '--config', configPath, '--recipients', path.join(dir, 'list.csv'), '--subject', 'Hi', '--text', 'x', '--type', 'marketing', '--attach', path.join(dir, 'big.bin')], { env: TEST_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('big.bin');
    expect(postmark.requests).toHaveLength(0);
  });
});
