import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { MAILGUN_DOMAIN, MAILGUN_KEY } from '../fakes/fake-mailgun.js';
import { POSTMARK_TOKEN } from '../fakes/fake-postmark.js';
import { SENDGRID_KEY } from '../fakes/fake-sendgrid.js';
import { SES_ACCESS_KEY_ID, SES_REGION, SES_SECRET_ACCESS_KEY } from '../fakes/fake-ses.js';
import { tempDir } from './cli.js';

export interface TestConfigOptions {
  postmarkUrl?: string;
  mailgunUrl?: string;
  smtpPort?: number;
  /** Adds a `sendgrid` provider pointing there (left out otherwise). */
  sendgridUrl?: string;
  /** Adds an `ses` provider pointing there (left out otherwise). */
  sesUrl?: string;
  order?: string[];
  attempts?: number;
  delay?: string;
  extra?: Record<string, unknown>;
  failover?: Record<string, unknown>;
  rules?: unknown[];
  timeout?: string;
  /** `store:` (a SQLite path or PostgreSQL settings) instead of failover.outbox: outbox.db. */
  store?: unknown;
}

/** The environment holding the secrets the test config refers to. */
export const TEST_ENV = { POSTMARK_SERVER_TOKEN: POSTMARK_TOKEN, MAILGUN_API_KEY: MAILGUN_KEY };
/** TEST_ENV with the SendGrid and SES secrets too. */
export const ALL_ESPS_ENV = { ...TEST_ENV, SENDGRID_API_KEY: SENDGRID_KEY, AWS_ACCESS_KEY_ID: SES_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SES_SECRET_ACCESS_KEY };

/**
 * A loopback port nobody listens on, for "connection refused": checked free (bound, then released)
 * below the ranges systems hand out for port 0 (Linux from 32768, macOS and Windows from 49152).
 * A port that port 0 had given could be given again, at once, to a fake another test file starts
 * in parallel: a send meant to be refused was then delivered to that fake.
 */
export const CLOSED_PORT = await freeFixedPort();

async function freeFixedPort(): Promise<number> {
  for (let port = 20_000 + Math.floor(Math.random() * 10_000); ; port = 20_000 + ((port - 20_000 + 1) % 12_000)) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** A config whose providers point at the local fakes; unreachable ones at a closed port. */
export function testConfig(options: TestConfigOptions = {}): Record<string, unknown> {
  const closed = `http://127.0.0.1:${CLOSED_PORT}`;
  return {
    defaults: { from: 'Penguin <noreply@example.com>' },
    providers: {
      postmark: { type: 'postmark', serverToken: '${POSTMARK_SERVER_TOKEN}', baseUrl: options.postmarkUrl ?? closed, timeout: options.timeout ?? '3s' },
      mailgun: { type: 'mailgun', apiKey: '${MAILGUN_API_KEY}', domain: MAILGUN_DOMAIN, baseUrl: options.mailgunUrl ?? closed, timeout: options.timeout ?? '3s' },
      smtp: { type: 'smtp', host: '127.0.0.1', port: options.smtpPort ?? CLOSED_PORT, secure: false, ignoreTLS: true, timeout: options.timeout ?? '3s' },
      ...(options.sendgridUrl ? { sendgrid: { type: 'sendgrid', apiKey: '${SENDGRID_API_KEY}', baseUrl: options.sendgridUrl, timeout: options.timeout ?? '3s' } } : {}),
      ...(options.sesUrl
        ? { ses: { type: 'ses', region: SES_REGION, accessKeyId: '${AWS_ACCESS_KEY_ID}', secretAccessKey: '${AWS_SECRET_ACCESS_KEY}', baseUrl: options.sesUrl, timeout: options.timeout ?? '3s' } }
        : {}),
    },
    failover: {
      order: options.order ?? ['postmark', 'mailgun', 'smtp'],
      retry: { attempts: options.attempts ?? 3, delay: options.delay ?? '10ms' },
      ...(options.store === undefined ? { outbox: 'outbox.db' } : {}),
      ...options.failover,
    },
    ...(options.store === undefined ? {} : { store: options.store }),
    routing: { rules: options.rules ?? [] },
    ...options.extra,
  };
}

/** Writes the config into a fresh directory; returns the directory and the file path. */
export function writeTestConfig(options: TestConfigOptions = {}, dir = tempDir()): { dir: string; configPath: string } {
  const configPath = path.join(dir, 'penguinmails.config.yaml');
  writeFileSync(configPath, stringify(testConfig(options)));
  return { dir, configPath };
}
