import { describe, expect, it } from 'vitest';
import { checkedEventFilter, eventFilterOf } from '../../src/app/event-query.js';
import { sendingDomainOf, suppressedReason } from '../../src/app/suppression-check.js';
import { wholeMessageRefusals } from '../../src/app/suppression-learning.js';
import { parseSuppressionCsv, scopeOf, suppressionsCsv } from '../../src/app/suppressions.js';
import { finalizeMessage } from '../../src/core/message.js';
import { postmarkDefinition } from '../../src/providers/postmark.js';
import { smtpDeadAddressReason } from '../../src/providers/smtp.js';

const NOW = Date.UTC(2026, 0, 31, 12);

describe('which refusals prove an address dead', () => {
  it('SMTP: 5xx with 5.1.1 / 5.1.10 or "user unknown" words; not policy blocks, temporary failures or a bare "mailbox unavailable"', () => {
    expect(smtpDeadAddressReason({ code: 550, message: 'refused: 550 5.1.1 <a@x.com>: Recipient address rejected: User unknown' })).toBe('user unknown (SMTP 550 5.1.1)');
    expect(smtpDeadAddressReason({ code: 550, message: '550 5.1.10 RESOLVER.ADR.RecipientNotFound' })).toBe('user unknown (SMTP 550 5.1.10)');
    expect(smtpDeadAddressReason({ code: 550, message: '550 No such user here' })).toBe('user unknown (SMTP 550)');
    expect(smtpDeadAddressReason({ code: 550, message: '550 5.7.1 Message rejected as spam' })).toBeUndefined();
    expect(smtpDeadAddressReason({ code: 550, message: '550 Mailbox unavailable' })).toBeUndefined();
    expect(smtpDeadAddressReason({ code: 450, message: '450 4.1.1 user unknown (try later)' })).toBeUndefined();
    expect(smtpDeadAddressReason({ code: 'EENVELOPE', message: 'user unknown' })).toBeUndefined();
  });

  it('Postmark: ErrorCode 406 only', () => {
    expect(postmarkDefinition.deadAddressReason!({ code: 406, message: 'inactive' })).toMatch(/inactive recipient/);
    expect(postmarkDefinition.deadAddressReason!({ code: 300, message: 'Invalid To address' })).toBeUndefined();
  });

  it('a whole message refused: the recipients the answer names (whole addresses only), else its only recipient', () => {
    const message = finalizeMessage({ from: 'a@example.com', to: ['ada@x.com'], cc: ['linda@x.com', 'Bob <bob@x.com>'], bcc: [], subject: 's', text: 't', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [] });
    const attempt = (error: string) => [{ provider: 'postmark', try: 1, outcome: 'permanent' as const, error, code: 406, ms: 1 }];
    expect(wholeMessageRefusals(message, attempt('Found inactive addresses: linda@x.com, bob@x.com.')).map((r) => r.address)).toEqual(['linda@x.com', 'bob@x.com']);
    expect(wholeMessageRefusals(message, attempt('refused'))).toEqual([]);
    expect(wholeMessageRefusals({ ...message, cc: [] }, attempt('refused'))).toEqual([{ address: 'ada@x.com', provider: 'postmark', code: 406, message: 'refused' }]);
    expect(wholeMessageRefusals(message, [{ provider: 'postmark', try: 1, outcome: 'transient', error: 'ada@x.com', ms: 1 }])).toEqual([]);
  });
});

describe('suppression scope and reasons', () => {
  it('the sending domain is the From address domain, lower-cased', () => {
    expect(sendingDomainOf('Penguin <NoReply@News.Example.org>')).toBe('news.example.org');
  });

  it('a reason names each suppressed recipient, and says the others were not sent either', () => {
    const ada = { address: 'ada@x.com', scope: '*', reason: 'hard bounce', source: 'postmark', since: '2026-01-02T03:04:05.000Z' };
    expect(suppressedReason([ada], 1)).toBe('on the suppression list: ada@x.com (hard bounce; postmark, 2026-01-02)');
    expect(suppressedReason([{ ...ada, scope: 'example.com' }], 2)).toBe('on the suppression list: ada@x.com (hard bounce; postmark, 2026-01-02; for mail from example.com); not sent to the other recipients either');
  });
});

describe('suppression CSV', () => {
  it('reads headerless rows (address[,scope,reason]) and header rows in any order; lower-cases; defaults scope * and reason', () => {
    expect(parseSuppressionCsv('Ada@X.com\nbob@x.com,Example.COM,unsubscribed\n', NOW)).toEqual([
      { address: 'ada@x.com', scope: '*', reason: 'imported', source: 'import', createdAt: NOW },
      { address: 'bob@x.com', scope: 'example.com', reason: 'unsubscribed', source: 'import', createdAt: NOW },
    ]);
    expect(parseSuppressionCsv('reason,email\r\n"bounced, hard",ada@x.com\r\n', NOW)).toEqual([{ address: 'ada@x.com', scope: '*', reason: 'bounced, hard', source: 'import', createdAt: NOW }]);
  });

  it('export reads back the same (source kept, created_at ignored)', () => {
    const list = [{ address: 'ada@x.com', scope: '*', reason: 'said "stop", twice\nby mail', source: 'postmark', createdAt: 1 }];
    expect(parseSuppressionCsv(suppressionsCsv(list), NOW)).toEqual([{ ...list[0], reason: 'said "stop", twice by mail', createdAt: NOW }]);
  });

  it('refuses the whole file when any row is bad, naming each by line (at most 20, then a count)', () => {
    expect(() => parseSuppressionCsv('ada@x.com\nnope\nbob@x.com,*,r,extra\n')).toThrow(/2 bad rows; nothing was imported:\n {2}line 2: "nope" is not an email address\n {2}line 3: 4 columns/);
    const many = Array.from({ length: 25 }, (_, i) => `bad${i}`).join('\n');
    expect(() => parseSuppressionCsv(many)).toThrow(/line 20: .*\n {2}… and 5 more/);
  });
});

describe('event filters', () => {
  it('--since takes a duration back from now, or a date / date-time; a bare number is refused', () => {
    expect(checkedEventFilter({ since: '24h' }, NOW).since).toBe(NOW - 24 * 3_600_000);
    expect(checkedEventFilter({ since: '2026-01-30' }, NOW).since).toBe(Date.UTC(2026, 0, 30));
    expect(checkedEventFilter({ since: '2026-01-30T10:00:00Z' }, NOW).since).toBe(Date.UTC(2026, 0, 30, 10));
    // Further back than the epoch is all of it (PostgreSQL refused the number it made).
    expect(checkedEventFilter({ since: '99999999999999999999d' }, NOW).since).toBe(0);
    expect(() => checkedEventFilter({ since: '86400' }, NOW)).toThrow(/neither a time nor a duration/);
  });

  it('collects every bad field (the HTTP API answers them all); the CLI names the first as its flag', () => {
    const { problems } = eventFilterOf({ type: 'boom', since: 'yesterday', to: 'nobody', limit: '0' }, { now: NOW, maxLimit: 1000 });
    expect(problems.map((p) => p.field)).toEqual(['type', 'since', 'to', 'limit']);
    expect(problems[3].message).toBe('"0" is not a whole number from 1 to 1000');
    expect(() => checkedEventFilter({ type: 'boom', limit: '0' }, NOW)).toThrow(/^--type: "boom" is not an event type/);
    expect(checkedEventFilter({ to: ' Ada@X.com ', limit: '5' }, NOW)).toEqual({ to: 'ada@x.com', limit: 5 });
  });

  it('one scope rule for the CLI and the HTTP API: "*", or a From domain (lower-cased, a leading @ dropped)', () => {
    expect([undefined, '', ' * '].map(scopeOf)).toEqual(['*', '*', '*']);
    expect(scopeOf('@News.Example.com')).toBe('news.example.com');
    for (const bad of ['localhost', 'bad scope!', 'example.123', 'a@b.com']) expect(scopeOf(bad), bad).toBeUndefined();
  });
});
