import { afterAll, beforeAll, beforeEach } from 'vitest';
import { FakeMailgun } from '../fakes/fake-mailgun.js';
import { FakePostmark } from '../fakes/fake-postmark.js';
import { FakeSendGrid } from '../fakes/fake-sendgrid.js';
import { FakeSes } from '../fakes/fake-ses.js';
import { FakeSmtp, type FakeSmtpOptions } from '../fakes/fake-smtp.js';

export interface FakeEspsOptions {
  /** Also start fake SendGrid and SES servers (test/helpers/config.ts: sendgridUrl, sesUrl). */
  sendgridAndSes?: boolean;
}

/**
 * Fake Postmark and Mailgun servers and a real SMTP server for a test file (and, when asked, fake
 * SendGrid and SES): started once, emptied (requests, faults, latency, suppressions) before every
 * test, stopped at the end.
 */
export function useFakeEsps(smtpOptions: FakeSmtpOptions = {}, options: FakeEspsOptions = {}) {
  const esps = { postmark: new FakePostmark(), mailgun: new FakeMailgun(), smtp: new FakeSmtp(smtpOptions), sendgrid: new FakeSendGrid(), ses: new FakeSes() };
  const more = options.sendgridAndSes ? [esps.sendgrid, esps.ses] : [];
  beforeAll(async () => {
    await Promise.all([esps.postmark.start(), esps.mailgun.start(), esps.smtp.start(), ...more.map((fake) => fake.start())]);
  });
  afterAll(async () => {
    await Promise.all([esps.postmark.stop(), esps.mailgun.stop(), esps.smtp.stop(), ...more.map((fake) => fake.stop())]);
  });
  beforeEach(() => {
    esps.postmark.reset();
    esps.postmark.inactive.clear();
    esps.postmark.latencyMs = 0;
    esps.mailgun.reset();
    esps.mailgun.parsed.length = 0;
    esps.mailgun.latencyMs = 0;
    esps.smtp.messages.length = 0;
    esps.smtp.connections = 0;
    esps.sendgrid.reset();
    esps.sendgrid.verifiedSenders = undefined;
    esps.sendgrid.invalidAddresses.clear();
    esps.ses.reset();
  });
  return esps;
}
