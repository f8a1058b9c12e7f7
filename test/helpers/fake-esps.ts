import { afterAll, beforeAll, beforeEach } from 'vitest';
import { FakeMailgun } from '../fakes/fake-mailgun.js';
import { FakePostmark } from '../fakes/fake-postmark.js';
import { FakeSmtp, type FakeSmtpOptions } from '../fakes/fake-smtp.js';

/**
 * Fake Postmark and Mailgun servers and a real SMTP server for a test file: started once,
 * emptied (requests, faults, latency, suppressions) before every test, stopped at the end.
 */
export function useFakeEsps(smtpOptions: FakeSmtpOptions = {}) {
  const esps = { postmark: new FakePostmark(), mailgun: new FakeMailgun(), smtp: new FakeSmtp(smtpOptions) };
  beforeAll(async () => {
    await Promise.all([esps.postmark.start(), esps.mailgun.start(), esps.smtp.start()]);
  });
  afterAll(async () => {
    await Promise.all([esps.postmark.stop(), esps.mailgun.stop(), esps.smtp.stop()]);
  });
  beforeEach(() => {
    esps.postmark.reset();
    esps.postmark.inactive.clear();
    esps.postmark.latencyMs = 0;
    esps.mailgun.reset();
    esps.mailgun.parsed.length = 0;
    esps.mailgun.latencyMs = 0;
    esps.smtp.messages.length = 0;
  });
  return esps;
}
