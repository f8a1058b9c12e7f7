import { validateConfig } from '../../src/config/validate.js';

/** Three providers with the settings each adapter requires: the smallest config most checks start from. */
export const SAMPLE_PROVIDERS = {
  postmark: { type: 'postmark', serverToken: 'tok' },
  mailgun: { type: 'mailgun', apiKey: 'key', domain: 'mg.example.com' },
  smtp: { type: 'smtp', host: 'smtp.example.com' },
};

/** The message validateConfig refuses a config with; '' when it accepts it. */
export function configErrorOf(raw: unknown): string {
  try {
    validateConfig(raw, { baseDir: '/tmp' });
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}
