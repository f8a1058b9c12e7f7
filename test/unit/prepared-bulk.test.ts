import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finalizeMessage } from '../../src/core/message.js';
import type { Provider } from '../../src/core/provider-port.js';
import { mailgunDefinition } from '../../src/providers/mailgun.js';
import { postmarkDefinition } from '../../src/providers/postmark.js';
import { PreparedBodies } from '../../src/providers/prepared-bodies.js';
import { FakeMailgun, MAILGUN_DOMAIN, MAILGUN_KEY } from '../fakes/fake-mailgun.js';
import { FakePostmark, POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
import { recipients } from '../helpers/adapter-test.js';

const mailgun = new FakeMailgun();
const postmark = new FakePostmark();
beforeAll(() => Promise.all([mailgun.start(), postmark.start()]));
afterAll(() => Promise.all([mailgun.stop(), postmark.stop()]));
beforeEach(() => {
  mailgun.reset();
  postmark.reset();
});

const template = () =>
  finalizeMessage({ from: 'news@example.com', to: ['placeholder@example.com'], cc: [], bcc: [], subject: 'Hi {{name}}', html: '<p>Hello {{name}}</p>', type: 'marketing', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [] });

describe('PreparedBodies', () => {
  it('gives a body once, to the same template and the same array only', () => {
    const bodies = new PreparedBodies<string>();
    const message = template();
    const batch = recipients(2);
    bodies.keep(message, batch, 'body');
    expect(bodies.take(template(), batch)).toBeUndefined();
    expect(bodies.take(message, [...batch])).toBeUndefined();
    expect(bodies.take(message, batch)).toBe('body');
    expect(bodies.take(message, batch)).toBeUndefined();
  });
});

const adapters: [string, () => Provider, () => Buffer[]][] = [
  ['postmark', () => postmarkDefinition.create('pm', postmarkDefinition.configSchema.parse({ type: 'postmark', serverToken: POSTMARK_TOKEN, baseUrl: postmark.url }), { timeoutMs: 3000 }), () => postmark.requests.map((r) => r.rawBody)],
  ['mailgun', () => mailgunDefinition.create('mg', mailgunDefinition.configSchema.parse({ type: 'mailgun', apiKey: MAILGUN_KEY, domain: MAILGUN_DOMAIN, baseUrl: mailgun.url }), { timeoutMs: 3000 }), () => mailgun.requests.map((r) => r.rawBody)],
];

/** A body without its multipart boundary (each body's own: a random part, then a count). */
const comparable = (body: Buffer) => body.toString().replace(/penguinmails-[0-9a-f]{24}-[0-9a-z]+/g, 'BOUNDARY');

describe.each(adapters)('%s: a bulk request built ahead of its call', (_name, create, bodies) => {
  it('is sent as the call would have built it, and only by the call it was built for', async () => {
    const provider = create();
    const message = template();
    const batch = recipients(3, (i) => ({ name: `Name ${i}` }));
    await provider.sendBulk(message, batch);
    provider.prepareBulk!(message, batch);
    await provider.sendBulk(message, batch);
    // Given once: the same call again (a retry) builds its body anew, the same.
    await provider.sendBulk(message, batch);
    // Another array of other recipients is not sent the body built for the first.
    const other = recipients(2, (i) => ({ name: `Other ${i}` }));
    provider.prepareBulk!(message, batch);
    await provider.sendBulk(message, other);
    const [alone, prepared, again, otherBody] = bodies().map(comparable);
    expect(prepared).toBe(alone);
    expect(again).toBe(alone);
    expect(otherBody).toContain('Other 1');
    expect(otherBody).not.toContain('Name 0');
  });

  it('the call sends the body built ahead, not one built again (a row changed in between shows which)', async () => {
    const provider = create();
    const message = template();
    const batch = recipients(2, (i) => ({ name: `Name ${i}` }));
    provider.prepareBulk!(message, batch);
    batch[0].fields.name = 'Changed';
    await provider.sendBulk(message, batch);
    const [sent] = bodies().map(comparable);
    expect(sent).toContain('Name 0');
    expect(sent).not.toContain('Changed');
  });
});
