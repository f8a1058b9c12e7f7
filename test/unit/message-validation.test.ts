import { describe, expect, it } from 'vitest';
import { parseAddress, splitAddressList } from '../../src/core/address.js';
import { MessageValidationError } from '../../src/core/errors.js';
import { deriveIdempotencyKey, finalizeMessage, type MessageDraft } from '../../src/core/message.js';
import { validateMessage } from '../../src/core/validate-message.js';

const draft = (overrides: Partial<MessageDraft> = {}): MessageDraft => ({
  from: 'Penguin <noreply@example.com>', to: ['ada@example.com'], cc: [], bcc: [], subject: 'Hi', text: 'Hello',
  type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [], ...overrides,
});
const problems = (d: MessageDraft) => {
  try {
    validateMessage(d);
    return [];
  } catch (error) {
    return (error as MessageValidationError).problems;
  }
};

describe('addresses', () => {
  it.each(['ada@example.com', 'Ada Lovelace <ada@example.com>', '"Ada L." <ada+tag@mail.example.co.uk>', "o'brien@example.ie"])('accepts %s', (a) => {
    expect(parseAddress(a)).toBeDefined();
  });
  it.each(['', 'ada', 'ada@', '@example.com', 'ada@example', 'ada@@example.com', 'ada@example..com', 'a b@example.com', 'ada@example.com\r\nBcc: x@y.com', 'Ada <ada@example.com', 'ada@-example.com', 'ada@example.123', `${'x'.repeat(65)}@example.com`])(
    'refuses %j',
    (a) => {
      expect(parseAddress(a)).toBeUndefined();
    },
  );
  it.each([
    ['Ada Lovelace <ada@example.com>', { name: 'Ada Lovelace', address: 'ada@example.com' }],
    ['"Doe, Jane" <j@example.com>', { name: 'Doe, Jane', address: 'j@example.com' }],
    ['"Say \\"hi\\"" <h@example.com>', { name: 'Say "hi"', address: 'h@example.com' }],
    ['José Ñúñez <j@example.com>', { name: 'José Ñúñez', address: 'j@example.com' }],
    ['"" <ada@example.com>', { address: 'ada@example.com' }],
  ])('reads %s as %j', (input, parsed) => {
    expect(parseAddress(input)).toEqual(parsed);
  });
  // Each of these is read by mail libraries (nodemailer) or ESPs as more than the one address
  // after "<": a group, a comment, a second address. Only the last would have been checked.
  it.each([
    'g:victim@suppressed.org; <ok@example.org>',
    'undisclosed:; <ok@example.org>',
    'victim@suppressed.org <ok@example.org>',
    'Ada, victim@suppressed.org <ok@example.org>',
    'Ada (victim@suppressed.org) <ok@example.org>',
    'Ada [x] <ok@example.org>',
    'Ada \\ Lovelace <ok@example.org>',
    '"unclosed <ok@example.org>',
    '"a" "b" <ok@example.org>',
    '"x <victim@evil.com>" <ok@example.org>',
    'Ada\tLovelace <ok@example.org>',
  ])('refuses the display name of %j', (a) => {
    expect(parseAddress(a)).toBeUndefined();
  });
});

describe('splitAddressList', () => {
  it.each([
    ['a@example.com, b@example.com', ['a@example.com', 'b@example.com']],
    ['"Doe, J" <j@example.com>, a@example.com', ['"Doe, J" <j@example.com>', 'a@example.com']],
    ['"Say \\"hi, there\\"" <h@example.com>', ['"Say \\"hi, there\\"" <h@example.com>']],
    [' , a@example.com,, ', ['a@example.com']],
    ['Doe, J <j@example.com>', ['Doe', 'J <j@example.com>']],
    ['O"Brien <o@example.com>, b@example.com', ['O"Brien <o@example.com>', 'b@example.com']],
  ])('%j → %j', (text, addresses) => {
    expect(splitAddressList(text)).toEqual(addresses);
  });
});

describe('validateMessage', () => {
  it('accepts a good message', () => expect(problems(draft())).toEqual([]));
  it('lists every problem', () => {
    expect(problems(draft({ from: '', to: [], subject: '', text: undefined }))).toEqual([
      'from: missing sender (use --from or defaults.from in the config)',
      'to: at least one recipient is required',
      'subject: missing',
      'body: missing (give --html, --html-file, --text or --text-file)',
    ]);
  });
  it('refuses header injection everywhere', () => {
    expect(problems(draft({ subject: 'a\nb' }))).toHaveLength(1);
    expect(problems(draft({ headers: [{ name: 'X-A', value: 'a\r\nb' }] }))).toHaveLength(1);
    expect(problems(draft({ tags: ['a\nb'] }))).toHaveLength(1);
    expect(problems(draft({ metadata: { k: 'v\r' } }))).toHaveLength(1);
    expect(problems(draft({ campaignId: 'c\n' }))).toHaveLength(1);
  });
  it('limits recipients to 50 per message', () => {
    const many = Array.from({ length: 51 }, (_, i) => `u${i}@example.com`);
    expect(problems(draft({ to: many }))[0]).toContain('51 recipients');
  });
});

describe('idempotency keys', () => {
  it('same content → same key; different content → different key; a given key wins', () => {
    expect(deriveIdempotencyKey(draft())).toBe(deriveIdempotencyKey(draft()));
    expect(deriveIdempotencyKey(draft())).not.toBe(deriveIdempotencyKey(draft({ subject: 'Other' })));
    expect(finalizeMessage(draft({ idempotencyKey: 'mine' })).idempotencyKey).toBe('mine');
  });
});
