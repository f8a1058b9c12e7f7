import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { base64Length, formatByteSize, parseByteSize } from '../../src/core/byte-size.js';
import { UserError } from '../../src/core/errors.js';
import { finalizeMessage, type EmailMessage } from '../../src/core/message.js';
import { assertFitsProviders, estimateMessageBytes, largestSizeLimit } from '../../src/providers/message-size.js';

function config(smtp: Record<string, unknown> = {}) {
  return validateConfig(
    {
      providers: {
        postmark: { type: 'postmark', serverToken: 't' },
        mailgun: { type: 'mailgun', apiKey: 'k', domain: 'mg.example.com' },
        smtp: { type: 'smtp', host: 'localhost', ...smtp },
      },
    },
    { baseDir: '/tmp' },
  ).providers;
}

/** A message whose one attachment has `bytes` bytes (base64: a third more). */
function messageWith(bytes: number, filename = 'report.pdf'): EmailMessage {
  const attachments = bytes ? [{ filename, contentType: 'application/pdf', contentBase64: 'A'.repeat(base64Length(bytes)) }] : [];
  return finalizeMessage({ from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments, idempotencyKey: 'pm_test' });
}

function refusal(run: () => void): UserError {
  try {
    run();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('expected a UserError');
}

describe('byte sizes', () => {
  it('parses decimal units and bare byte counts; refuses anything else', () => {
    expect(parseByteSize('25MB')).toBe(25_000_000);
    expect(parseByteSize('1.5 gb')).toBe(1_500_000_000);
    expect(parseByteSize('500KB')).toBe(500_000);
    expect(parseByteSize(1234)).toBe(1234);
    expect(parseByteSize('lots')).toBeUndefined();
    expect(parseByteSize(-1)).toBeUndefined();
    expect(parseByteSize('10 MiB')).toBeUndefined();
  });

  it('formats with one decimal at most', () => {
    expect(formatByteSize(10_000_000)).toBe('10 MB');
    expect(formatByteSize(14_666_668)).toBe('14.7 MB');
    expect(formatByteSize(812_000)).toBe('812 KB');
    expect(formatByteSize(999_950)).toBe('1 MB');
    expect(formatByteSize(95)).toBe('95 bytes');
  });
});

describe('provider message size limits', () => {
  it('each definition states its limit: Postmark 10 MB, Mailgun 25 MB, SMTP maxMessageSize (default 25 MB)', () => {
    expect(largestSizeLimit({ postmark: config().postmark })).toEqual({ provider: 'postmark', bytes: 10_000_000 });
    expect(largestSizeLimit(config())).toEqual({ provider: 'mailgun', bytes: 25_000_000 });
    expect(largestSizeLimit(config({ maxMessageSize: '50MB' }))).toEqual({ provider: 'smtp', bytes: 50_000_000 });
    expect(largestSizeLimit(config({ maxMessageSize: 30_000_000 }))).toEqual({ provider: 'smtp', bytes: 30_000_000 });
  });

  it('an SMTP maxMessageSize that is not a size is a config error naming the key', () => {
    expect(() => config({ maxMessageSize: 'lots' })).toThrow(/providers\.smtp\.maxMessageSize: not a size/);
  });

  it('estimates a message as its attachments in base64 plus its bodies', () => {
    expect(estimateMessageBytes(messageWith(3_000_000))).toBe(4_000_000 + 2);
  });
});

describe('assertFitsProviders', () => {
  it('a message over the first provider\'s limit stops the send, naming the file, its size, the provider, its limit and who takes it', () => {
    const route = { chain: ['postmark', 'mailgun', 'smtp'], notes: [] };
    const error = refusal(() => assertFitsProviders(messageWith(11_000_000), route, config()));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('attachment report.pdf (11 MB, 14.7 MB in base64) makes the message 14.7 MB: more than postmark takes (10 MB per message)');
    expect(error.hint).toMatch(/^--provider mailgun takes up to 25 MB; --provider smtp takes up to 25 MB; or drop or shrink the attachment/);
  });

  it('when no configured provider takes it, the hint says so', () => {
    const error = refusal(() => assertFitsProviders(messageWith(20_000_000), { chain: ['mailgun'], notes: [] }, config()));
    expect(error.message).toContain('more than mailgun takes (25 MB per message)');
    expect(error.hint).toMatch(/^no configured provider takes 26\.7 MB/);
  });

  it('a later provider that cannot take the message is left out of the chain, with a note', () => {
    const route = { chain: ['mailgun', 'postmark', 'smtp'], notes: [] as string[] };
    assertFitsProviders(messageWith(11_000_000), route, config());
    expect(route.chain).toEqual(['mailgun', 'smtp']);
    expect(route.notes).toEqual(['postmark left out of the chain: the message (14.7 MB) is over its 10 MB limit']);
  });

  it('a message within every limit leaves the route as it was', () => {
    const route = { chain: ['postmark', 'mailgun', 'smtp'], notes: [] as string[] };
    assertFitsProviders(messageWith(7_000_000), route, config());
    expect(route).toEqual({ chain: ['postmark', 'mailgun', 'smtp'], notes: [] });
  });
});
