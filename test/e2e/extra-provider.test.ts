import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, type CliOptions } from '../helpers/cli.js';
import { CLOSED_PORT, TEST_ENV } from '../helpers/config.js';

/**
 * An ESP added as a new adapter is: one ProviderDefinition given to the registry (in
 * test/helpers/cli-with-extra-provider.mjs, outside src/), and it shows up in every command that
 * lists, prices or routes providers, with no other list to update.
 */
const WITH_ACME = path.join(ROOT, 'test/helpers/cli-with-extra-provider.mjs');
const ACME_KEY = 'acme-secret-key-9f8e7d';

const CONFIG = `
defaults:
  from: Penguin <noreply@example.com>
providers:
  acme: { type: acme, apiKey: "\${ACME_API_KEY}" }
  postmark: { type: postmark, serverToken: "\${POSTMARK_SERVER_TOKEN}", baseUrl: "http://127.0.0.1:${CLOSED_PORT}" }
routing:
  rules:
    - { when: { type: marketing }, use: [acme, postmark] }
failover:
  order: [postmark, acme]
`;

function withAcme(args: string[], options: CliOptions = {}) {
  return runCli(args, { cwd: tempDir({ 'penguinmails.config.yaml': CONFIG }), bin: WITH_ACME, env: { ...TEST_ENV, ACME_API_KEY: ACME_KEY }, ...options });
}

describe('an ESP added by registering its definition', () => {
  it('is a cost estimate --strategy, priced from the catalog in its definition', async () => {
    const result = await withAcme(['cost', 'estimate', '--volume', '3000', '--strategy', 'acme', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const doc = result.json();
    expect(doc.strategies).toHaveLength(1);
    // starter: $5 for 1,000 included + 2,000 × $1.00/1k
    expect(doc.strategies[0]).toMatchObject({ strategy: 'acme', label: 'all-acme', total: 7 });
    expect(doc.strategies[0].providers[0]).toMatchObject({ provider: 'acme', plan: 'starter', emails: 3000, baseFee: 5, overage: 2 });

    const help = await withAcme(['cost', 'estimate', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('"postmark", "mailgun", "smtp", "sendgrid", "ses", "acme"');
  });

  it('takes part in the hybrid and in "all" strategies', async () => {
    const result = await withAcme(['cost', 'estimate', '--volume', '3000', '--transactional', '1000', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const doc = result.json();
    expect(doc.strategies.map((s: any) => s.strategy)).toEqual(['postmark', 'mailgun', 'smtp', 'sendgrid', 'ses', 'acme', 'hybrid']);
    const hybrid = doc.strategies.find((s: any) => s.strategy === 'hybrid');
    expect(hybrid.providers.map((p: any) => [p.provider, p.emails])).toEqual([
      ['postmark', 1000],
      ['acme', 2000],
    ]);
  });

  it('is explained by route explain, with its plan', async () => {
    const result = await withAcme(['route', 'explain', '--type', 'marketing', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const doc = result.json();
    expect(doc.chain).toEqual(['acme', 'postmark']);
    expect(doc.providers[0]).toMatchObject({ name: 'acme', role: 'primary', plan: 'starter', included: 1000 });
  });

  it('shows its request in send --dry-run with its secret masked, and sends', async () => {
    const args = ['send', '--type', 'marketing', '--to', 'ada@example.com', '--subject', 'Hi', '--text', 'Hello', '--json'];
    const dryRun = await withAcme([...args, '--dry-run']);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    const preview = dryRun.json();
    expect(preview.requests.map((r: any) => [r.provider, r.type])).toEqual([
      ['acme', 'acme'],
      ['postmark', 'postmark'],
    ]);
    expect(preview.requests[0].request).toMatchObject({ url: 'https://api.acme.example/v1/messages', body: { to: ['ada@example.com'], subject: 'Hi' } });
    expect(dryRun.stdout).not.toContain(ACME_KEY);

    const sent = await withAcme(args);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.json()).toMatchObject({ status: 'delivered', provider: 'acme', messageId: expect.stringMatching(/^acme-pm_/) });
  });

  it('is named among the known types when a config gets a type wrong', async () => {
    const result = await runCli(['route', 'explain', '--json'], { cwd: tempDir({ 'penguinmails.config.yaml': 'providers:\n  x: { type: acmee }\n' }), bin: WITH_ACME });
    expect(result.code).toBe(2);
    expect(result.json().error).toContain('unknown provider type "acmee" (known: postmark, mailgun, smtp, sendgrid, ses, acme)');
  });

  it('is not known to the CLI without it', async () => {
    const result = await runCli(['cost', 'estimate', '--volume', '10', '--strategy', 'acme'], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'acme' is invalid. Allowed choices are all, hybrid, postmark, mailgun, smtp, sendgrid, ses.");
  });
});

describe('the bundle', () => {
  // Postmark's SDK is bundled on purpose (scripts/bundle.mjs: 50 small files cost a send ~25 ms),
  // into a chunk of its own that only a dynamic import reaches: still loaded only when used.
  const BUNDLED_SDKS = ['postmark'];
  type Meta = { inputs: Record<string, unknown>; outputs: Record<string, { inputs: Record<string, unknown>; imports: { path: string; kind: string }[] }> };

  it("keeps every other definition's SDK packages out, to be loaded from node_modules when used", async () => {
    const { PROVIDER_DEFINITIONS } = await import('../../dist/providers/registry.js');
    const sdkPackages = PROVIDER_DEFINITIONS.flatMap((definition: { sdkPackages: readonly string[] }) => definition.sdkPackages);
    expect(sdkPackages).toEqual(expect.arrayContaining(['postmark', 'nodemailer']));
    const meta = JSON.parse(readFileSync(path.join(ROOT, 'dist/bundle/meta.json'), 'utf8')) as Meta;
    const external = sdkPackages.filter((pkg: string) => !BUNDLED_SDKS.includes(pkg));
    const bundled = Object.keys(meta.inputs).filter((input) => external.some((pkg: string) => input.includes(`node_modules/${pkg}/`)));
    expect(bundled).toEqual([]);
  });

  it('puts a bundled SDK in a chunk of its own, imported only dynamically (by its adapter)', () => {
    const meta = JSON.parse(readFileSync(path.join(ROOT, 'dist/bundle/meta.json'), 'utf8')) as Meta;
    for (const pkg of BUNDLED_SDKS) {
      const chunks = Object.entries(meta.outputs).filter(([, output]) => Object.keys(output.inputs).some((input) => input.includes(`node_modules/${pkg}/`)));
      expect(chunks).toHaveLength(1);
      const [chunk, output] = chunks[0];
      expect(Object.keys(output.inputs).filter((input) => !input.includes(`node_modules/${pkg}/`))).toEqual([]);
      const importers = Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.path === chunk));
      expect(importers.length).toBeGreaterThan(0);
      expect(importers.every((i) => i.kind === 'dynamic-import')).toBe(true);
    }
  });
});
