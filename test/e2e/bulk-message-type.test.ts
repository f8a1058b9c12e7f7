import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { runCli } from '../helpers/cli.js';
import { TEST_ENV, writeTestConfig } from '../helpers/config.js';

const { postmark } = useFakeEsps();

const NOTE = /no --type given: a bulk send goes as marketing/;

/** A two-row list and a config with Postmark only, whose defaults.type is transactional. */
function setup(payload?: Record<string, unknown>) {
  const { dir, configPath } = writeTestConfig({ postmarkUrl: postmark.url, order: ['postmark'], extra: { defaults: { from: 'Penguin <noreply@example.com>', type: 'transactional' } } });
  const listPath = path.join(dir, 'list.csv');
  writeFileSync(listPath, 'email,name\nann@example.com,Ann\nbob@example.com,Bob\n');
  const payloadPath = path.join(dir, 'payload.json');
  if (payload) writeFileSync(payloadPath, JSON.stringify(payload));
  const send = (extra: string[]) => runCli(['send', '--config', configPath, '--recipients', listPath, '--subject', 'Hi {{name}}', '--text', 'x', '--json', ...extra], { env: TEST_ENV });
  return { send, payloadPath };
}

const streams = () => postmark.sent.flatMap((s) => s.body.map((m: { MessageStream: string }) => m.MessageStream));

describe('the message type of a bulk send', () => {
  it('without a type, goes to Postmark\'s broadcast stream as marketing (config defaults.type is for single messages), saying so once on stderr', async () => {
    const result = await setup().send([]);
    expect(result.code, result.stderr).toBe(0);
    expect(streams()).toEqual(['broadcast', 'broadcast']);
    expect(result.stderr.match(new RegExp(NOTE, 'g'))).toHaveLength(1);
    expect(result.stderr).toMatch(/--type transactional/);
    expect(result.json()).toMatchObject({ status: 'delivered', delivered: 2 });
  });

  it('--type transactional keeps the transactional stream, without the note', async () => {
    const result = await setup().send(['--type', 'transactional']);
    expect(result.code, result.stderr).toBe(0);
    expect(streams()).toEqual(['outbound', 'outbound']);
    expect(result.stderr).not.toMatch(NOTE);
  });

  it('the payload\'s type counts as given', async () => {
    const { send, payloadPath } = setup({ subject: 'Hi {{name}}', text_body: 'x', type: 'transactional' });
    const result = await send(['--payload', payloadPath]);
    expect(result.code, result.stderr).toBe(0);
    expect(streams()).toEqual(['outbound', 'outbound']);
    expect(result.stderr).not.toMatch(NOTE);
  });

  it('a dry run shows the broadcast stream and the note too', async () => {
    const result = await setup().send(['--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().requests[0].request.body[0].MessageStream).toBe('broadcast');
    expect(result.stderr).toMatch(NOTE);
  });
});
