#!/usr/bin/env node
// A demo that needs no ESP account: Postmark, Mailgun, SendGrid and Amazon SES point at a closed
// local port (down), the final SMTP fallback is a catcher started here. Watch the failover through
// all five, then the caught mail, then what a month of mail would cost on each provider.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const caught = [];
const catcher = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    simpleParser(stream).then((mail) => {
      caught.push(mail);
      callback();
    }, callback);
  },
});
await new Promise((resolve) => catcher.listen(0, '127.0.0.1', resolve));
const smtpPort = catcher.server.address().port;

// A port nobody listens on: bind it, then let it go.
const closedPort = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

const dir = mkdtempSync(path.join(tmpdir(), 'penguinmails-demo-'));
const configPath = path.join(dir, 'penguinmails.config.yaml');
writeFileSync(
  configPath,
  `# demo config: Postmark, Mailgun, SendGrid and SES are "down" (a closed local port), SMTP is a local catcher
defaults: { from: "Penguin Demo <demo@penguinmails.test>" }
providers:
  postmark: { type: postmark, serverToken: "\${POSTMARK_SERVER_TOKEN}", baseUrl: "http://127.0.0.1:${closedPort}" }
  mailgun:  { type: mailgun, apiKey: "\${MAILGUN_API_KEY}", domain: mg.penguinmails.test, baseUrl: "http://127.0.0.1:${closedPort}" }
  sendgrid: { type: sendgrid, apiKey: "\${SENDGRID_API_KEY}", baseUrl: "http://127.0.0.1:${closedPort}" }
  ses:      { type: ses, region: us-east-1, accessKeyId: "\${AWS_ACCESS_KEY_ID}", secretAccessKey: "\${AWS_SECRET_ACCESS_KEY}", baseUrl: "http://127.0.0.1:${closedPort}" }
  smtp:     { type: smtp, host: 127.0.0.1, port: ${smtpPort}, ignoreTLS: true }
failover:
  order: [postmark, mailgun, sendgrid, ses, smtp]
  retry: { attempts: 2, delay: 300ms }
  outbox: outbox.db
`,
);

function penguinmails(args) {
  const shown = args.map((a) => (/[^\w@./:=-]/.test(a) ? `'${a}'` : a)).join(' ');
  console.log(`\n$ penguinmails ${shown}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/penguinmails.js'), ...args], {
      stdio: 'inherit',
      env: {
        ...process.env,
        POSTMARK_SERVER_TOKEN: 'demo-postmark-token',
        MAILGUN_API_KEY: 'demo-mailgun-key',
        SENDGRID_API_KEY: 'SG.demo-sendgrid-key',
        AWS_ACCESS_KEY_ID: 'AKIADEMOKEY',
        AWS_SECRET_ACCESS_KEY: 'demo-ses-secret',
      },
    });
    child.on('close', resolve);
  });
}

const send = ['send', '--config', configPath, '--to', 'ada@example.com', '--subject', 'Your receipt #1001', '--html', '<p>Thanks for your order!</p>', '--tag', 'receipt', '--campaign', 'demo'];
await penguinmails(['route', 'explain', '--config', configPath, '--type', 'transactional']);
const code = await penguinmails(send);
console.log(`\n(exit code ${code})`);
for (const mail of caught) {
  console.log(`\nThe local SMTP catcher received: "${mail.subject}" to ${mail.to?.text}`);
  console.log(`  X-PenguinMails-Tags: ${mail.headers.get('x-penguinmails-tags')}, campaign: ${mail.headers.get('x-penguinmails-campaign')}`);
}
await penguinmails(['cost', 'estimate', '--volume', '100000', '--transactional', '5000']);
catcher.close();
process.exit(code);
