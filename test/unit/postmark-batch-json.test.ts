import { describe, expect, it } from 'vitest';
import { jsonStringContent } from '../../src/core/json-string.js';
import { escapeHtml, MergeText, personalise } from '../../src/core/merge.js';
import { JsonBytes, JsonMergePart } from '../../src/providers/json-bytes.js';
import { finalizeMessage, type EmailMessage } from '../../src/core/message.js';
import { postmarkBatchBody, toPostmarkEmail } from '../../src/providers/postmark.js';

const config = { messageStream: 'outbound', broadcastStream: 'broadcast' };

function template(overrides: Partial<EmailMessage> = {}): EmailMessage {
  return finalizeMessage({
    from: '"News \\"Desk\\"" <news@example.com>',
    to: ['placeholder@example.com'],
    cc: [],
    bcc: [],
    subject: 'Hi {{ name }} — "{{plan}}" \\ tab\t',
    html: '<p>{{name}} &lt;{{email}}&gt;</p>',
    text: 'Hello {{name}}\n{{missing}}. 😀',
    headers: [{ name: 'X-Campaign', value: 'spring "26"' }],
    tags: ['news', 'spring'],
    metadata: { team: 'growth' },
    attachments: [],
    type: 'marketing',
    ...overrides,
  });
}

const recipients = [
  { email: 'eve@example.com', fields: { name: 'Eve <b>\r\n"Hacker"', plan: 'pro\\x' }, digest: 'a1b2c3d4e5f6a1b2c3d4e5f6' },
  { email: 'bob@example.com', fields: { name: 'Bob 😀 \u0001 \ud800', plan: '' }, digest: '000000000000000000000000' },
  { email: 'ann@example.com', fields: {}, digest: 'ffffffffffffffffffffffff' },
];

describe('postmarkBatchBody', () => {
  it('is the JSON of each personalised copy as a single message would be sent', () => {
    for (const message of [template(), template({ html: undefined }), template({ html: '{{plan}}', text: '' }), template({ text: undefined, headers: [], tags: [], metadata: {} }), template({ idempotencyKey: 'given "key"/with\\slash' })]) {
      const expected = recipients.map((r) => toPostmarkEmail(personalise(message, r), config).body);
      expect(JSON.parse(postmarkBatchBody(message, config, recipients).toString())).toEqual(expected);
    }
  });

  it('writes the same text JSON.stringify does', () => {
    const message = template();
    const expected = JSON.stringify(recipients.map((r) => toPostmarkEmail(personalise(message, r), config).body));
    expect(postmarkBatchBody(message, config, recipients).toString()).toBe(expected);
  });
});

describe('jsonStringContent and JsonMergePart', () => {
  it.each(['plain', 'quote " and \\ backslash', 'line\r\nbreak\ttab\u0000', 'emoji 😀', 'lone \ud800 surrogate', ''])('%j reads back as itself', (value) => {
    expect(JSON.parse(`"${jsonStringContent(value)}"`)).toBe(value);
  });

  it('writes each string as JSON.stringify does, short ASCII ones byte by byte, the others escaped', () => {
    const values = ['user1@example.com', 'User 1', '', 'del \u007f', 'x'.repeat(64), 'x'.repeat(65), `${'a'.repeat(40)}"quoted"`, 'ends with \\', 'tab\there', 'é', `${'b'.repeat(30)}😀`, '\ud800', '<p>&amp;</p>'];
    const out = new JsonBytes(1);
    for (const value of values) {
      out.string(value);
      out.raw(Buffer.from('|'));
    }
    expect(out.bytes().toString()).toBe(values.map((value) => JSON.stringify(value).slice(1, -1)).join('|') + '|');
  });

  it('writes raw pieces as they are, short ones byte by byte and long ones at once, growing its buffer', () => {
    const pieces = ['', '{', '","', 'x'.repeat(16), 'y'.repeat(17), 'é"', 'z'.repeat(3000)].map((text) => Buffer.from(text));
    const out = new JsonBytes(1);
    for (let i = 0; i < 3; i++) for (const piece of pieces) out.raw(piece);
    expect(out.bytes().toString()).toBe(pieces.map(String).join('').repeat(3));
  });

  it('writes the text MergeText fills, escaped for JSON, growing its buffer as it needs', () => {
    const text = '"{{a}}" \\ {{b}} — {{email}}\n';
    const recipient = { email: 'a@example.com', fields: { a: 'x"y<', b: 'line\nbreak 😀' } };
    const out = new JsonBytes(1);
    for (let i = 0; i < 200; i++) new JsonMergePart(text, escapeHtml).write(out, recipient);
    const first = out.bytes().subarray(0, out.size / 200).toString();
    expect(JSON.parse(`"${first}"`)).toBe(new MergeText(text, escapeHtml).fill(recipient));
    expect(out.bytes().toString()).toBe(first.repeat(200));
  });
});
