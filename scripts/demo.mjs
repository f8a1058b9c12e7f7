#!/usr/bin/env node
// A demo that needs no ESP account: Postmark, Mailgun, SendGrid and Amazon SES point at a closed
// local port (down), the final SMTP fallback is a catcher started here. Watch the failover through
// all five, then the caught mail; then the same through the HTTP API (`serve`, a key, one request);
// then what a month of mail would cost on each provider.
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

const bin = path.join(root, 'bin/penguinmails.js');
const env = {
  ...process.env,
  POSTMARK_SERVER_TOKEN: 'demo-postmark-token',
  MAILGUN_API_KEY: 'demo-mailgun-key',
  SENDGRID_API_KEY: 'SG.demo-sendgrid-key',
  AWS_ACCESS_KEY_ID: 'AKIADEMOKEY',
  AWS_SECRET_ACCESS_KEY: 'demo-ses-secret',
};
const quote = (args) => args.map((a) => (/[^\w@./:=-]/.test(a) ? `'${a}'` : a)).join(' ');

function penguinmails(args) {
  console.log(`\n$ penguinmails ${quote(args)}`);
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'inherit', env });
  // A demo that ends early (its output closed) takes the command it was running with it.
  const stop = () => child.kill('SIGKILL');
  process.once('exit', stop);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      process.removeListener('exit', stop);
      resolve(code);
    }),
  );
}

function showCaught() {
  for (const mail of caught.splice(0)) {
    console.log(`\nThe local SMTP catcher received: "${mail.subject}" to ${mail.to?.text}`);
    const campaign = mail.headers.get('x-penguinmails-campaign');
    console.log(`  X-PenguinMails-Tags: ${mail.headers.get('x-penguinmails-tags')}${campaign ? `, X-PenguinMails-Campaign: ${campaign}` : ''}`);
  }
}

/** The same kind of message through the HTTP API: `serve` on a free port, a key, one request, SIGTERM. */
async function serveDemo() {
  console.log(`\n$ penguinmails serve --listen 127.0.0.1:0 --config ${configPath} --quiet &`);
  const server = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--config', configPath, '--quiet'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  // However the demo ends (its output closed by `| head`, an error), the server does not outlive it.
  const stopServer = () => server.kill('SIGKILL');
  process.once('exit', stopServer);
  const exited = new Promise((resolve) => server.on('close', resolve));
  try {
    let said = '';
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start within 20 s: ${said}`)), 20_000);
      server.stderr.on('data', (chunk) => {
        said += chunk;
        const found = /listening on (http:\/\/\S+)/.exec(said)?.[1];
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${said}`)));
    });
    console.log(`listening on ${url}`);
    const keyArgs = ['keys', 'create', '--name', 'demo', '--config', configPath];
    console.log(`\n$ KEY=$(penguinmails ${quote(keyArgs)})`);
    const key = await new Promise((resolve, reject) => {
      let out = '';
      const child = spawn(process.execPath, [bin, ...keyArgs], { env, stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`keys create exited with ${code}`))));
    });
    const body = { to: 'grace@example.com', subject: 'Your receipt #1002', html_body: '<p>Thanks for your order!</p>', tags: ['receipt'] };
    console.log(`\n$ curl -s ${url}/api/v1/emails/send -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\\n    -H 'Idempotency-Key: demo-order-1002' -d '${JSON.stringify(body)}'`);
    const answer = await fetch(`${url}/api/v1/emails/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'demo-order-1002' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const result = await answer.json();
    console.log(`HTTP ${answer.status}: ${result.status} by ${result.provider} after ${result.attempts?.length ?? 0} attempt(s) (${(result.attempts ?? []).map((a) => `${a.provider} ${a.outcome}`).join(', ')})`);
    showCaught();
    return answer.status === 200 ? 0 : 1;
  } finally {
    console.log(`\n$ kill -TERM ${server.pid}`);
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    console.log(`(serve exited with code ${await exited})`);
    clearTimeout(timer);
    process.removeListener('exit', stopServer);
  }
}

// Output closed early (`npm run demo | head`): stop, and let the exit handlers clean up.
process.stdout.on('error', (error) => process.exit(error.code === 'EPIPE' ? 0 : 1));

const send = ['send', '--config', configPath, '--to', 'ada@example.com', '--subject', 'Your receipt #1001', '--html', '<p>Thanks for your order!</p>', '--tag', 'receipt', '--campaign', 'demo'];
await penguinmails(['route', 'explain', '--config', configPath, '--type', 'transactional']);
const code = await penguinmails(send);
console.log(`\n(exit code ${code})`);
showCaught();
const served = await serveDemo();
await penguinmails(['cost', 'estimate', '--volume', '100000', '--transactional', '5000']);
catcher.close();
process.exit(code || served);
