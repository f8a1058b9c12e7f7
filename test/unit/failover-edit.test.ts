import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyFailoverChange, checkEditedConfig, diffLines, renderDiff } from '../../src/config/edit.js';
import { ConfigError } from '../../src/core/errors.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLE = readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8');

const PROVIDERS = `providers:
  postmark: { type: postmark, serverToken: "\${POSTMARK_SERVER_TOKEN}" }
  mailgun: { type: mailgun, apiKey: "\${MAILGUN_API_KEY}", domain: mg.example.com }
  smtp: { type: smtp, host: smtp.example.com, port: 587 }
`;

describe('applyFailoverChange', () => {
  it('changes only the edited values; every other byte of the example survives', async () => {
    const result = await applyFailoverChange(EXAMPLE, { enabled: false, order: ['smtp', 'mailgun'], retryAttempts: 5, retryDelay: '45s' });
    const expected = EXAMPLE.replace('  enabled: true\n', '  enabled: false\n')
      .replace('order: [postmark, mailgun, smtp]   # primary', 'order: [smtp, mailgun]   # primary')
      .replace('attempts: 3                      # tries', 'attempts: 5                      # tries')
      .replace('delay: 30s                       # delay', 'delay: 45s                       # delay');
    expect(result.text).toBe(expected);
    expect(result.reformatted).toBe(false);
    expect(result.changedKeys).toEqual(['failover.enabled', 'failover.order', 'failover.retry.attempts', 'failover.retry.delay']);
  });

  it('rewrites the rules\' use: chains in place (flow and block layouts), keeping their when: and comments', async () => {
    const order = ['mailgun', 'postmark', 'smtp'];
    const result = await applyFailoverChange(EXAMPLE, { order, ruleChains: [order, order, order, order] });
    expect(result.reformatted).toBe(false);
    expect(result.changedKeys).toEqual(['failover.order', 'routing.rules[0].use', 'routing.rules[1].use', 'routing.rules[2].use', 'routing.rules[3].use']);
    expect(result.text).toBe(
      EXAMPLE.replace('order: [postmark, mailgun, smtp]', 'order: [mailgun, postmark, smtp]')
        .replace(/use: \[postmark, mailgun, smtp\]/g, 'use: [mailgun, postmark, smtp]')
        .replace('use: [smtp, mailgun]', 'use: [mailgun, postmark, smtp]')
        .replace('use: [mailgun, smtp]', 'use: [mailgun, postmark, smtp]'),
    );

    const block = `${PROVIDERS}routing:\n  rules:\n    - when:\n        type: marketing   # bulk\n      use:\n        - smtp\n        - mailgun\n`;
    const edited = await applyFailoverChange(block, { ruleChains: [['postmark', 'smtp']] });
    expect(edited.reformatted).toBe(false);
    expect(edited.text).toBe(block.replace('        - smtp\n        - mailgun\n', '        - postmark\n        - smtp\n'));
  });

  it('leaves the text untouched when nothing differs', async () => {
    const result = await applyFailoverChange(EXAMPLE, { enabled: true, order: ['postmark', 'mailgun', 'smtp'], retryAttempts: 3, retryDelay: '30s' });
    expect(result.text).toBe(EXAMPLE);
    expect(result.changedKeys).toEqual([]);
  });

  it('inserts missing keys at the end of their block, keeping comments and the sections after it', async () => {
    const text = `# my config\n${PROVIDERS}failover:   # keep me\n  enabled: true  # aligned   comment\n\n# routing comes next\nrouting:\n  rules: []\n`;
    const result = await applyFailoverChange(text, { order: ['mailgun', 'smtp'], retryDelay: '1m' });
    expect(result.reformatted).toBe(false);
    expect(result.text).toBe(
      `# my config\n${PROVIDERS}failover:   # keep me\n  enabled: true  # aligned   comment\n  order: [mailgun, smtp]\n  retry:\n    delay: 1m\n\n# routing comes next\nrouting:\n  rules: []\n`,
    );
  });

  it('appends a failover section when the file has none, and works on an empty file', async () => {
    const result = await applyFailoverChange(`${PROVIDERS}# trailing comment\n`, { order: ['smtp'] });
    expect(result.text).toBe(`${PROVIDERS}failover:\n  order: [smtp]\n# trailing comment\n`);

    const empty = await applyFailoverChange('', { retryAttempts: 2 });
    expect(parse(empty.text)).toEqual({ failover: { retry: { attempts: 2 } } });
  });

  it('rewrites a block sequence in place with its indentation; each line keeps its comment (it names the place: primary, fallback)', async () => {
    const text = `${PROVIDERS}failover:\n  order:\n    - postmark   # primary\n    - mailgun # fallback\n  # about retries\n  retry: { attempts: 2 }\n`;
    const result = await applyFailoverChange(text, { order: ['smtp', 'postmark', 'mailgun'], retryDelay: '10s' });
    expect(result.text).toBe(`${PROVIDERS}failover:\n  order:\n    - smtp   # primary\n    - postmark # fallback\n    - mailgun\n  # about retries\n  retry: { attempts: 2, delay: 10s }\n`);
    expect(result.reformatted).toBe(false);
  });

  it('adds to a flow-style failover map', async () => {
    const text = `${PROVIDERS}failover: { enabled: true } # one line\n`;
    const result = await applyFailoverChange(text, { order: ['smtp', 'mailgun'] });
    expect(result.text).toBe(`${PROVIDERS}failover: { enabled: true, order: [ smtp, mailgun ] } # one line\n`);
  });

  it('keeps CRLF line endings', async () => {
    const text = EXAMPLE.replace(/\n/g, '\r\n');
    const result = await applyFailoverChange(text, { retryAttempts: 4 });
    expect(result.text).toBe(text.replace('attempts: 3 ', 'attempts: 4 '));
  });

  it('quotes provider names that YAML would read as another type', async () => {
    const result = await applyFailoverChange('failover:\n  order: [a]\n', { order: ['123', 'true'] });
    expect(parse(result.text).failover.order).toEqual(['123', 'true']);
  });

  it('refuses to edit when a parent key is not a map', async () => {
    await expect(applyFailoverChange('failover:\n  retry: 3\n', { retryAttempts: 2 })).rejects.toThrow(/failover\.retry is not a map/);
  });

  it('reports broken YAML with its line', async () => {
    await expect(applyFailoverChange('failover:\n  order: [a\n', { retryAttempts: 2 }, 'x.yaml')).rejects.toThrow(/x\.yaml: broken YAML.*line/);
  });
});

describe('checkEditedConfig', () => {
  const options = { filePath: '/tmp/p.yaml', baseDir: '/tmp', env: {} };

  it('accepts the example with its ${VAR}s unset', async () => {
    const { config } = await checkEditedConfig(EXAMPLE, EXAMPLE, options);
    expect(config?.failover.order).toEqual(['postmark', 'mailgun', 'smtp']);
  });

  it('rejects an unknown provider or a duplicate with the known list', async () => {
    const bad = EXAMPLE.replace('order: [postmark, mailgun, smtp]', 'order: [postmark, mailgn, postmark]');
    const error = await checkEditedConfig(EXAMPLE, bad, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('failover.order[1]: unknown provider "mailgn" (known: postmark, mailgun, smtp, sendgrid, ses) — did you mean "mailgun"?');
    expect((error as Error).message).toContain('failover.order[2]: "postmark" appears twice in the chain');
  });

  it('rejects attempts out of range and bad durations', async () => {
    await expect(checkEditedConfig(EXAMPLE, EXAMPLE.replace('attempts: 3', 'attempts: 0'), options)).rejects.toThrow(/failover\.retry\.attempts/);
    await expect(checkEditedConfig(EXAMPLE, EXAMPLE.replace('delay: 30s', 'delay: soon'), options)).rejects.toThrow(/failover\.retry\.delay: not a duration/);
  });

  it('passes problems the file already had through as warnings', async () => {
    const before = EXAMPLE.replace('port: 587', 'port: lots');
    const after = before.replace('attempts: 3', 'attempts: 4');
    const { preexisting } = await checkEditedConfig(before, after, options);
    expect(preexisting.join('\n')).toMatch(/providers\.smtp\.port/);
  });
});

describe('diff', () => {
  it('shows removed then added lines with context and hunk headers', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const after = 'a\nb\nc\nD\ne\nf\ng\nh\n';
    expect(renderDiff(diffLines(before, after), { context: 1 })).toEqual(['@@ line 3 @@', '  c', '- d', '+ D', '  e']);
  });

  it('is empty for equal texts and lists everything for a new file', () => {
    expect(renderDiff(diffLines('x\n', 'x\n'))).toEqual([]);
    expect(renderDiff(diffLines('', 'x\ny\n'))).toEqual(['@@ line 1 @@', '+ x', '+ y']);
  });
});
