import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/core/errors.js';
import { finalizeMessage } from '../../src/core/message.js';
import { classifySmtpError, smtpDefinition } from '../../src/providers/smtp.js';
import { FakeSmtp } from '../fakes/fake-smtp.js';

const smtp = new FakeSmtp({ refuse: new Map([['gone@example.com', 550], ['busy@example.com', 451]]) });
beforeAll(() => smtp.start());
afterAll(() => smtp.stop());

const occurrences = (text: string, code: string) => text.split(code).length - 1;

describe('SMTP error text names the reply code once', () => {
  it.each([
    ['gone@example.com', '550', 'refused: 550 Mailbox unavailable'],
    ['busy@example.com', '451', 'temporary failure: 451 Try again later'],
  ])('%s refused by a real server (nodemailer) → %s once', async (to, code, expected) => {
    const provider = smtpDefinition.create('smtp', smtpDefinition.configSchema.parse({ type: 'smtp', host: '127.0.0.1', port: smtp.port, ignoreTLS: true }), { timeoutMs: 3000 });
    const message = finalizeMessage({ from: 'a@example.com', to: [to], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [] });
    try {
      const error = await provider.send(message).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).message).toBe(expected);
      expect((error as ProviderError).code).toBe(Number(code));
    } finally {
      await provider.close?.();
    }
  });

  const err = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'x')), fields);
  it.each([
    [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', response: '550 5.1.1 user unknown', message: "Can't send mail - all recipients were rejected: 550 5.1.1 user unknown" }, '550', 'refused: 550 5.1.1 user unknown'],
    [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', message: "Can't send mail - all recipients were rejected: 550 5.1.1 user unknown" }, '550', "refused: Can't send mail - all recipients were rejected: 550 5.1.1 user unknown"],
    [{ code: 'EMESSAGE', responseCode: 552, command: 'DATA', response: 'message too big' }, '552', 'refused: 552 message too big'],
    [{ code: 'EENVELOPE', responseCode: 553, command: 'MAIL FROM', response: '553 5.7.1 sender not allowed' }, '553', 'sender refused: 553 5.7.1 sender not allowed'],
    [{ code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Authentication credentials invalid' }, '535', 'authentication failed: 535 5.7.8 Authentication credentials invalid'],
  ])('%j → "%s" once', (fields, code, expected) => {
    const { detail } = classifySmtpError(err(fields));
    expect(detail).toBe(expected);
    expect(occurrences(detail, code)).toBe(1);
  });
});
