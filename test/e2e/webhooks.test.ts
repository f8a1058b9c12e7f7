import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FakeSns, SNS_TOPIC } from '../fakes/fake-sns.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { TEST_ENV, testConfig } from '../helpers/config.js';
import { useFakeEsps } from '../helpers/fake-esps.js';
import { call, createKey, startServer, type ServerProcess } from '../helpers/serve.js';
import { mailgunEventData, mailgunSignature, postmark as postmarkRecord, sendgridEvent, sendgridKeys, ses, signSendgrid } from '../helpers/webhook-payloads.js';

// `POST /api/v1/webhooks/{provider-name}` (SPEC Events and suppressions): the built CLI's `serve`,
// real HTTP, payloads shaped as each provider documents them, signed the provider's way.
const { postmark, mailgun, smtp } = useFakeEsps();
const sns = new FakeSns();

const POSTMARK_HOOK = { username: 'postmark-hooks', password: 'hook-pass-7Qx9' };
const MAILGUN_SIGNING_KEY = 'mg-signing-key-4f1c0d9e';
const sendgrid = sendgridKeys();



const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

function writeConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const base = testConfig({ postmarkUrl: postmark.url, order: ['postmark'], attempts: 1 });
  const providers = base.providers as Record<string, Record<string, unknown>>;
  providers.postmark.webhook = { username: POSTMARK_HOOK.username, password: '${POSTMARK_WEBHOOK_PASSWORD}' };
  providers.mailgun.webhookSigningKey = '${MAILGUN_WEBHOOK_SIGNING_KEY}';
  // A second domain of the same Mailgun account: the same signing key.
  providers['mailgun-eu'] = { ...providers.mailgun };
  providers.sendgrid = { type: 'sendgrid', apiKey: 'SG.not-used', webhookPublicKey: sendgrid.publicKeyBase64 };
  providers.ses = { type: 'ses', region: 'us-east-1', accessKeyId: 'AKIDNOTUSED', secretAccessKey: 'not-used', webhook: { topicArns: [SNS_TOPIC], snsBaseUrl: sns.url } };
  // Without webhook settings, and with its secret's variable unset.
  providers['postmark-plain'] = { type: 'postmark', serverToken: 'unused-token' };
  providers['postmark-unset'] = { type: 'postmark', serverToken: '${POSTMARK_SERVER_TOKEN}', baseUrl: postmark.url, webhook: { username: 'x', password: '${PENGUINMAILS_TEST_UNSET_VARIABLE}' } };
  const configPath = path.join(dir, 'penguinmails.config.yaml');
  writeFileSync(configPath, stringify({ ...base, ...extra }));
  return configPath;
}

describe('webhooks', () => {
  let server: ServerProcess;
  let configPath: string;
  let serverDir: string;
  let key = '';
  const get = (pathname: string) => call(server.url, 'GET', pathname, { authorization: `Bearer ${key}` });
  const hook = (provider: string, body: unknown, headers: Record<string, string> = {}) =>
    call(server.url, 'POST', `/api/v1/webhooks/${provider}`, { 'content-type': 'application/json', ...headers }, typeof body === 'string' ? body : JSON.stringify(body));
  const postmarkHook = (record: unknown, auth = basic(POSTMARK_HOOK.username, POSTMARK_HOOK.password)) => hook('postmark', record, { authorization: auth });
  const eventsTo = async (address: string) => (await get(`/api/v1/events?to=${encodeURIComponent(address)}`)).body.events as any[];
  const suppressed = async () => (await get('/api/v1/suppressions')).body.suppressions as any[];

  beforeAll(async () => {
    await sns.start();
    process.env.POSTMARK_WEBHOOK_PASSWORD = POSTMARK_HOOK.password;
    process.env.MAILGUN_WEBHOOK_SIGNING_KEY = MAILGUN_SIGNING_KEY;
    const dir = (serverDir = tempDir());
    configPath = writeConfig(dir);
    key = await createKey(configPath, 'app');
    server = await startServer(configPath, dir);
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    await sns.stop();
    delete process.env.POSTMARK_WEBHOOK_PASSWORD;
    delete process.env.MAILGUN_WEBHOOK_SIGNING_KEY;
  });
  beforeEach(() => {
    sns.reset();
    sns.confirmed.length = 0;
  });

  describe('Postmark (HTTP Basic credentials in the webhook URL)', () => {
    it('issue #20 end to end: a hard bounce posted in Postmark\'s format makes the next send to that address exit 3, with no request to any ESP', async () => {
      const bounced = await postmarkHook(postmarkRecord.bounce('bounced.once@example.com', { id: 9001 }));
      expect(bounced.body).toMatchObject({ stored: 1, suppressed: 1 });
      const before = { postmark: postmark.requests.length, mailgun: mailgun.requests.length, smtp: smtp.messages.length };
      const send = await runCli(['send', '--config', configPath, '--to', 'Bounced.Once@example.com', '--subject', 'Hi', '--text', 'again', '--json'], { env: TEST_ENV });
      expect(send.code, send.stderr).toBe(3);
      expect(send.json()).toMatchObject({ status: 'rejected' });
      expect(send.stderr).toMatch(/bounced\.once@example\.com/);
      expect({ postmark: postmark.requests.length, mailgun: mailgun.requests.length, smtp: smtp.messages.length }).toEqual(before);
    });

    it('a hard bounce with the right credentials is stored once and suppresses the address; a retry stores nothing', async () => {
      const record = postmarkRecord.bounce('Gone.Away@Example.com', { id: 1001 });
      const first = await postmarkHook(record);
      expect(first).toMatchObject({ status: 200, body: { status: 'ok', received: 1, stored: 1, suppressed: 1 } });
      const retry = await postmarkHook(record);
      expect(retry).toMatchObject({ status: 200, body: { received: 1, stored: 0, suppressed: 0 } });

      expect(await suppressed()).toContainEqual({ address: 'gone.away@example.com', scope: '*', reason: 'hard bounce', source: 'postmark', createdAt: expect.any(String) });
      const events = await eventsTo('gone.away@example.com');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'bounced', bounce: 'hard', provider: 'postmark', messageId: record.MessageID, recipient: 'gone.away@example.com', occurredAt: '2019-11-05T16:33:54.907Z', raw: { RecordType: 'Bounce', ID: 1001 } });
    });

    it('a NUL character is stored as U+FFFD (PostgreSQL takes none), a recipient that is no address suppresses nothing, an impossible time is the arrival time', async () => {
      const record = { ...postmarkRecord.bounce('nul.case@example.com', { id: 9002, messageId: 'm\u0000id' }), BouncedAt: 1e300 };
      expect(await postmarkHook(record)).toMatchObject({ status: 200, body: { stored: 1, suppressed: 1 } });
      const [event] = await eventsTo('nul.case@example.com');
      expect(event.messageId).toBe('m\uFFFDid');
      expect(Math.abs(Date.parse(event.occurredAt) - Date.now())).toBeLessThan(60_000);
      expect(await postmarkHook(postmarkRecord.bounce('not an address', { id: 9003 }))).toMatchObject({ status: 200, body: { stored: 1, suppressed: 0 } });
      expect((await suppressed()).map((s) => s.address)).not.toContain('not an address');
      // No id, key or address holds a NUL: 400, not a store error.
      expect(await get('/api/v1/emails/a%00b')).toMatchObject({ status: 400, body: { error: expect.stringContaining('NUL character') } });
      expect((await call(server.url, 'DELETE', '/api/v1/suppressions/a%00b@example.com', { authorization: `Bearer ${key}` })).status).toBe(400);
    });

    it('missing or wrong credentials → 401 with WWW-Authenticate: Basic, nothing stored', async () => {
      const record = postmarkRecord.bounce('forged@example.com', { id: 1002 });
      const missing = await hook('postmark', record);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(missing.body).toMatchObject({ status: 'error', error: expect.stringContaining('missing webhook credentials') });
      expect((await postmarkHook(record, basic(POSTMARK_HOOK.username, 'guess'))).status).toBe(401);
      expect((await postmarkHook(record, basic('someone', POSTMARK_HOOK.password))).status).toBe(401);
      expect((await postmarkHook(record, `Bearer ${key}`)).status).toBe(401);
      expect(await eventsTo('forged@example.com')).toEqual([]);
      expect((await suppressed()).map((s) => s.address)).not.toContain('forged@example.com');
    });

    it('a soft bounce is stored without suppressing; a complaint and an unsubscribe suppress', async () => {
      expect((await postmarkHook(postmarkRecord.bounce('full@example.com', { id: 1003, type: 'SoftBounce' }))).body).toMatchObject({ stored: 1, suppressed: 0 });
      expect((await eventsTo('full@example.com'))[0]).toMatchObject({ type: 'bounced', bounce: 'soft' });
      expect((await postmarkHook(postmarkRecord.spamComplaint('angry@example.com', 1004))).body).toMatchObject({ stored: 1, suppressed: 1 });
      expect((await postmarkHook(postmarkRecord.subscriptionChange('bye@example.com'))).body).toMatchObject({ stored: 1, suppressed: 1 });
      const list = await suppressed();
      expect(list).toContainEqual(expect.objectContaining({ address: 'angry@example.com', reason: 'spam complaint', source: 'postmark' }));
      expect(list).toContainEqual(expect.objectContaining({ address: 'bye@example.com', reason: 'unsubscribed' }));
      expect(list.map((s) => s.address)).not.toContain('full@example.com');
    });

    it('Delivery, Open and Click are stored; a delivery is matched to our idempotency key through the ledger', async () => {
      const sent = await call(server.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'welcome-ada-1' }, JSON.stringify({ to: 'ada@example.com', subject: 'Welcome', text_body: 'Hi' }));
      expect(sent.body).toMatchObject({ status: 'delivered', provider: 'postmark' });
      expect((await postmarkHook(postmarkRecord.delivery('ada@example.com', sent.body.messageId))).body).toMatchObject({ stored: 1, suppressed: 0 });
      expect((await postmarkHook(postmarkRecord.open('ada@example.com'))).body).toMatchObject({ stored: 1 });
      expect((await postmarkHook(postmarkRecord.click('ada@example.com'))).body).toMatchObject({ stored: 1 });
      const events = await eventsTo('ada@example.com');
      expect(events.map((e) => e.type).sort()).toEqual(['clicked', 'delivered', 'opened']);
      expect(events.find((e) => e.type === 'delivered')).toMatchObject({ messageId: sent.body.messageId, idempotencyKey: 'welcome-ada-1' });
      expect(events.find((e) => e.type === 'opened')).toMatchObject({ idempotencyKey: null });
    });

    it('malformed payload → 400, nothing stored', async () => {
      expect(await postmarkHook('{"RecordType": "Bounce", ')).toMatchObject({ status: 400, body: { error: expect.stringContaining('not valid JSON') } });
      expect((await postmarkHook({ hello: 'world' })).status).toBe(400);
      expect((await postmarkHook({ RecordType: 'Bounce', ID: 5, Type: 'HardBounce' })).body).toMatchObject({ error: expect.stringContaining('Email') });
      expect((await postmarkHook('')).status).toBe(400);
    });
  });

  describe('Mailgun (HMAC-SHA256 signature, replay window, tokens used once)', () => {
    it('a signed permanent failure is stored and suppresses; a temporary one is a deferral; forged, stale and replayed signatures → 401', async () => {
      const failed = { signature: mailgunSignature(MAILGUN_SIGNING_KEY), 'event-data': mailgunEventData('failed', 'nobody@example.net') };
      expect(await hook('mailgun', failed)).toMatchObject({ status: 200, body: { stored: 1, suppressed: 1 } });
      // The same request again (Mailgun retrying it, say after a crash of ours): taken, stored once.
      expect(await hook('mailgun', failed)).toMatchObject({ status: 200, body: { received: 1, stored: 0 } });
      // Its token with other events: a replay.
      const forgedWithToken = { signature: failed.signature, 'event-data': mailgunEventData('complained', 'victim0@example.net') };
      expect(await hook('mailgun', forgedWithToken)).toMatchObject({ status: 401, body: { error: expect.stringContaining('used before for another request') } });
      // The same signed text split again ("…49e0" + "ab…" for "…49" + "e0ab…"): the same time, a new token.
      const signedWithE0 = mailgunSignature(MAILGUN_SIGNING_KEY, Math.floor(Date.now() / 1000), `e0${randomBytes(24).toString('hex')}`);
      expect((await hook('mailgun', { signature: signedWithE0, 'event-data': mailgunEventData('opened', 'reader-e0@example.net') })).status).toBe(200);
      const resplit = { timestamp: `${signedWithE0.timestamp}e0`, token: signedWithE0.token.slice(2), signature: signedWithE0.signature };
      expect(await hook('mailgun', { signature: resplit, 'event-data': mailgunEventData('complained', 'victim0@example.net') })).toMatchObject({ status: 401, body: { error: expect.stringContaining('not a whole number of seconds') } });
      const [event] = await eventsTo('nobody@example.net');
      expect(event).toMatchObject({ type: 'bounced', bounce: 'hard', provider: 'mailgun', messageId: '<20130503192659.13651.20287@mg.example.com>' });
      expect(await suppressed()).toContainEqual(expect.objectContaining({ address: 'nobody@example.net', source: 'mailgun' }));

      const temporary = mailgunEventData('failed', 'slow@example.net', { severity: 'temporary', reason: 'generic' });
      expect((await hook('mailgun', { signature: mailgunSignature(MAILGUN_SIGNING_KEY), 'event-data': temporary })).body).toMatchObject({ stored: 1, suppressed: 0 });
      expect((await eventsTo('slow@example.net'))[0]).toMatchObject({ type: 'deferred' });

      const forged = { signature: mailgunSignature('not-the-signing-key'), 'event-data': mailgunEventData('complained', 'victim@example.net') };
      expect(await hook('mailgun', forged)).toMatchObject({ status: 401, body: { error: 'wrong signature' } });
      const stale = { signature: mailgunSignature(MAILGUN_SIGNING_KEY, Math.floor(Date.now() / 1000) - 600), 'event-data': mailgunEventData('complained', 'victim@example.net') };
      expect(await hook('mailgun', stale)).toMatchObject({ status: 401, body: { error: expect.stringContaining('replay window') } });
      expect((await hook('mailgun', { 'event-data': mailgunEventData('complained', 'victim@example.net') })).status).toBe(401);
      expect(await eventsTo('victim@example.net')).toEqual([]);
    });

    it("a retry of an event (Mailgun's event id) with a fresh signature is stored once; accepted events are ignored", async () => {
      const data = mailgunEventData('opened', 'reader@example.net');
      expect((await hook('mailgun', { signature: mailgunSignature(MAILGUN_SIGNING_KEY), 'event-data': data })).body).toMatchObject({ stored: 1 });
      expect((await hook('mailgun', { signature: mailgunSignature(MAILGUN_SIGNING_KEY), 'event-data': data })).body).toMatchObject({ received: 1, stored: 0 });
      expect((await hook('mailgun', { signature: mailgunSignature(MAILGUN_SIGNING_KEY), 'event-data': mailgunEventData('accepted', 'reader@example.net') })).body).toMatchObject({ received: 0, ignored: 1 });
      expect(await eventsTo('reader@example.net')).toHaveLength(1);
    });
  });

  describe('SendGrid (signed Event Webhook: ECDSA over timestamp + raw body)', () => {
    const batch = [
      sendgridEvent('processed', 'sg-one@example.org'),
      sendgridEvent('delivered', 'sg-one@example.org', { response: '250 OK' }),
      sendgridEvent('open', 'sg-one@example.org', { useragent: 'Mozilla/4.0', ip: '255.255.255.255' }),
      sendgridEvent('click', 'sg-one@example.org', { url: 'http://www.sendgrid.com/' }),
      sendgridEvent('bounce', 'sg-gone@example.org', { reason: '500 unknown recipient', status: '5.0.0', type: 'bounce', bounce_classification: 'Invalid Address' }),
      sendgridEvent('bounce', 'sg-blocked@example.org', { reason: '550 blocked', status: '5.7.1', type: 'blocked' }),
      sendgridEvent('deferred', 'sg-slow@example.org', { response: '400 try again later', attempt: '5' }),
      sendgridEvent('spamreport', 'sg-angry@example.org'),
      sendgridEvent('group_unsubscribe', 'sg-bye@example.org', { asm_group_id: 10 }),
    ];

    it('a signed batch is stored event by event (processed ignored); hard bounce, spam report and unsubscribe suppress; a retry stores nothing', async () => {
      // Whitespace as SendGrid sends it must stay byte for byte: the signature is over the raw body.
      const body = JSON.stringify(batch, null, 1);
      const first = await hook('sendgrid', body, signSendgrid(sendgrid.privateKey, body));
      expect(first).toMatchObject({ status: 200, body: { received: 8, stored: 8, suppressed: 3, ignored: 1 } });
      expect((await hook('sendgrid', body, signSendgrid(sendgrid.privateKey, body))).body).toMatchObject({ stored: 0, suppressed: 0 });
      expect((await eventsTo('sg-gone@example.org'))[0]).toMatchObject({ type: 'bounced', bounce: 'hard', messageId: '14c5d75ce93' });
      expect((await eventsTo('sg-blocked@example.org'))[0]).toMatchObject({ type: 'bounced', bounce: 'soft' });
      expect((await eventsTo('sg-slow@example.org'))[0]).toMatchObject({ type: 'deferred' });
      const list = (await suppressed()).filter((s) => s.source === 'sendgrid').map((s) => s.address).sort();
      expect(list).toEqual(['sg-angry@example.org', 'sg-bye@example.org', 'sg-gone@example.org']);
    });

    it('a body changed after signing, a signature of another key, or no signature → 401, nothing stored', async () => {
      const body = JSON.stringify([sendgridEvent('spamreport', 'sg-forged@example.org')]);
      const headers = signSendgrid(sendgrid.privateKey, body);
      expect((await hook('sendgrid', body.replace('sg-forged', 'sg-other'), headers)).status).toBe(401);
      expect((await hook('sendgrid', body, signSendgrid(sendgridKeys().privateKey, body))).status).toBe(401);
      expect((await hook('sendgrid', body, { ...headers, 'x-twilio-email-event-webhook-timestamp': '1' })).status).toBe(401);
      expect(await hook('sendgrid', body)).toMatchObject({ status: 401, body: { error: expect.stringContaining('missing signature') } });
      expect(await eventsTo('sg-forged@example.org')).toEqual([]);
      expect(await eventsTo('sg-other@example.org')).toEqual([]);
      const notAnArray = '{"event":"delivered"}';
      expect((await hook('sendgrid', notAnArray, signSendgrid(sendgrid.privateKey, notAnArray))).status).toBe(400);
    });
  });

  describe('Amazon SES through SNS (signed messages, subscription confirmation)', () => {
    const snsHook = (message: Record<string, string>, headers: Record<string, string> = {}) =>
      // SNS posts JSON as text/plain.
      call(server.url, 'POST', '/api/v1/webhooks/ses', { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': message.Type, 'x-amz-sns-topic-arn': message.TopicArn, ...headers }, JSON.stringify(message));

    it('a signed SubscriptionConfirmation is confirmed by visiting its SubscribeURL', async () => {
      const confirmation = sns.message('SubscriptionConfirmation', { Message: 'You have chosen to subscribe to the topic.', Token: 'token-123' });
      expect(await snsHook(confirmation)).toMatchObject({ status: 200, body: { received: 0, note: expect.stringContaining('confirmed') } });
      expect(sns.confirmed).toEqual(['token-123']);
      // The certificate was fetched from the configured SNS base URL.
      expect(sns.requests.some((r) => r.path.endsWith('.pem'))).toBe(true);
    });

    it('signed Notifications (SignatureVersion 1 and 2) are stored once; a permanent bounce and a complaint suppress', async () => {
      const bounce = sns.message('Notification', { Message: JSON.stringify(ses.bounce('ses-gone@example.com')) });
      expect(await snsHook(bounce)).toMatchObject({ status: 200, body: { stored: 1, suppressed: 1 } });
      expect((await snsHook(bounce)).body).toMatchObject({ stored: 0 });
      expect((await eventsTo('ses-gone@example.com'))[0]).toMatchObject({ type: 'bounced', bounce: 'hard', provider: 'ses', messageId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000' });
      const complaint = sns.message('Notification', { Message: JSON.stringify(ses.complaint('ses-angry@example.com')), Subject: 'Amazon SES Email Event Notification' }, { version: '2' });
      expect((await snsHook(complaint)).body).toMatchObject({ stored: 1, suppressed: 1 });
      const soft = sns.message('Notification', { Message: JSON.stringify(ses.bounce('ses-full@example.com', 'Transient')) });
      expect((await snsHook(soft)).body).toMatchObject({ stored: 1, suppressed: 0 });
      expect((await snsHook(sns.message('Notification', { Message: JSON.stringify(ses.delivery('ses-ok@example.com')) }))).body).toMatchObject({ stored: 1 });
      expect((await snsHook(sns.message('Notification', { Message: JSON.stringify(ses.open('ses-ok@example.com')) }))).body).toMatchObject({ stored: 1 });
      expect((await eventsTo('ses-ok@example.com')).map((e) => e.type).sort()).toEqual(['delivered', 'opened']);
      const list = (await suppressed()).filter((s) => s.source === 'ses').map((s) => `${s.address} ${s.reason}`).sort();
      expect(list).toEqual(['ses-angry@example.com spam complaint', 'ses-gone@example.com hard bounce']);
    });

    it('a forged signature, a topic not configured, or a certificate off the SNS host → 401; nothing stored, nothing confirmed', async () => {
      const genuine = sns.message('Notification', { Message: JSON.stringify(ses.complaint('ses-forged@example.com')) });
      const tampered = { ...genuine, Message: JSON.stringify(ses.complaint('ses-other@example.com')) };
      expect(await snsHook(tampered)).toMatchObject({ status: 401, body: { error: 'wrong SNS signature' } });
      const otherTopic = sns.message('Notification', { Message: JSON.stringify(ses.complaint('ses-forged@example.com')) }, { topicArn: 'arn:aws:sns:us-east-1:999999999999:attacker' });
      expect(await snsHook(otherTopic)).toMatchObject({ status: 401, body: { error: expect.stringContaining('topicArns') } });
      const offHost = sns.message('Notification', { Message: JSON.stringify(ses.complaint('ses-forged@example.com')) }, { certificateUrl: 'https://attacker.example.com/SimpleNotificationService-x.pem' });
      expect(await snsHook(offHost)).toMatchObject({ status: 401, body: { error: expect.stringContaining('SigningCertURL') } });
      const forgedConfirmation = { ...sns.message('SubscriptionConfirmation', { Message: 'subscribe', Token: 'token-forged' }), Signature: Buffer.from('nope').toString('base64') };
      expect((await snsHook(forgedConfirmation)).status).toBe(401);
      expect(sns.confirmed).toEqual([]);
      expect(await eventsTo('ses-forged@example.com')).toEqual([]);
      expect(await eventsTo('ses-other@example.com')).toEqual([]);
    });

    it('a header that contradicts the body, or a Message that is not an SES notification → 400', async () => {
      const message = sns.message('Notification', { Message: JSON.stringify(ses.delivery('ses-x@example.com')) });
      expect((await snsHook(message, { 'x-amz-sns-message-type': 'SubscriptionConfirmation' })).status).toBe(400);
      expect((await snsHook(sns.message('Notification', { Message: 'hello, not JSON' }))).status).toBe(400);
    });
  });

  it("what the headers refuse is answered before the body is read: wrong Postmark credentials, SendGrid without a signature, an unknown provider (the body's last bytes never sent)", async () => {
    /** Sends the headers of a 200 KB body and its first bytes only: the answer, if it comes without the rest. */
    const answerBeforeBody = (pathname: string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const size = 200_000;
        const request = httpRequest(`${server.url}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(size), ...headers } }, (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => {
            request.destroy();
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) });
          });
        });
        request.on('error', reject);
        request.write('{"RecordType":"Bounce",');
        // The rest never comes: a server that waited for it would not answer before the timeout.
        setTimeout(() => reject(new Error('no answer while the body was still arriving')), 5_000).unref();
      });
    const wrongPassword = await answerBeforeBody('/api/v1/webhooks/postmark', { authorization: basic(POSTMARK_HOOK.username, 'guess') });
    expect(wrongPassword).toMatchObject({ status: 401, body: { error: 'wrong webhook credentials' } });
    const unsigned = await answerBeforeBody('/api/v1/webhooks/sendgrid', {});
    expect(unsigned).toMatchObject({ status: 401, body: { error: expect.stringContaining('missing signature') } });
    expect((await answerBeforeBody('/api/v1/webhooks/nobody', {})).status).toBe(404);
    // The server goes on answering.
    expect((await get('/api/v1/events?type=bounced')).status).toBe(200);
  });

  it('unknown provider 404; a provider without webhooks 404; webhook not set up 404 naming the setting; its secret variable unset 503', async () => {
    expect(await hook('nope', {})).toMatchObject({ status: 404, body: { error: 'no provider of that name in the config' } });
    expect(await hook('smtp', {})).toMatchObject({ status: 404, body: { error: expect.stringContaining('has no delivery webhooks') } });
    expect(await hook('postmark-plain', postmarkRecord.bounce('x@example.com'))).toMatchObject({ status: 404, body: { hint: expect.stringContaining('providers.postmark-plain.webhook') } });
    const unset = await hook('postmark-unset', postmarkRecord.bounce('x@example.com'), { authorization: basic('x', '${PENGUINMAILS_TEST_UNSET_VARIABLE}') });
    expect(unset).toMatchObject({ status: 503, body: { error: expect.stringContaining('not set on this server') } });
    expect(await eventsTo('x@example.com')).toEqual([]);
    expect(server.output()).toMatch(/"provider":"postmark-unset","variables":\["PENGUINMAILS_TEST_UNSET_VARIABLE"\].*answers 503/);
    // The webhook's secret is not needed to send through the provider.
    const sent = await call(server.url, 'POST', '/api/v1/emails/send', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ provider: 'postmark-unset', to: 'x@example.com', subject: 'Hi', text_body: 'Hi' }));
    expect(sent.body).toMatchObject({ status: 'delivered', provider: 'postmark-unset', attempts: [expect.objectContaining({ provider: 'postmark-unset', outcome: 'delivered' })] });
  });

  it('GET /api/v1/events filters by type, since and recipient; bad parameters → 400 naming each; a key is needed', async () => {
    await postmarkHook(postmarkRecord.bounce('filter@example.com', { id: 2001, type: 'SoftBounce' }));
    const bounced = (await get('/api/v1/events?type=bounced&limit=1000')).body.events as any[];
    expect(bounced.length).toBeGreaterThan(0);
    expect(bounced.every((e) => e.type === 'bounced')).toBe(true);
    expect((await get('/api/v1/events?limit=1')).body.events).toHaveLength(1);
    // Postmark's sample bounce happened in 2019.
    expect((await get('/api/v1/events?to=filter@example.com&since=2020-01-01')).body.events).toEqual([]);
    expect((await get('/api/v1/events?to=filter@example.com&since=2019-11-05T00:00:00Z')).body.events).toHaveLength(1);
    // A duration back from now, as `events list --since` takes it (the sample's 2019 is older).
    expect(await get('/api/v1/events?to=filter@example.com&since=24h')).toMatchObject({ status: 200, body: { events: [] } });
    const bad = await get('/api/v1/events?type=bounce&since=yesterday&limit=1001&to=nobody&colour=red');
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { path: string }) => d.path).sort()).toEqual(['colour', 'limit', 'since', 'to', 'type']);
    expect((await call(server.url, 'GET', '/api/v1/events')).status).toBe(401);
    expect((await call(server.url, 'GET', '/api/v1/suppressions')).status).toBe(401);
  });

  it('POST and DELETE /api/v1/suppressions: add (201, then 200 already there), remove (200, then 404); invalid fields → 400 by name', async () => {
    const add = (body: unknown) => call(server.url, 'POST', '/api/v1/suppressions', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify(body));
    const remove = (address: string, query = '') => call(server.url, 'DELETE', `/api/v1/suppressions/${encodeURIComponent(address)}${query}`, { authorization: `Bearer ${key}` });
    expect(await add({ address: 'Hand@Example.com', reason: 'asked us by phone' })).toMatchObject({ status: 201, body: { added: true, suppression: { address: 'hand@example.com', scope: '*', reason: 'asked us by phone', source: 'api:app' } } });
    expect(await add({ address: 'hand@example.com', reason: 'again' })).toMatchObject({ status: 200, body: { added: false, suppression: { reason: 'asked us by phone' } } });
    expect(await add({ address: 'hand@example.com', scope: 'news.example.com' })).toMatchObject({ status: 201, body: { suppression: { scope: 'news.example.com', reason: 'added by hand' } } });
    const bad = await add({ address: 'not an address', scope: 'not a domain', reson: 'typo' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { path: string }) => d.path).sort()).toEqual(['address', 'reson', 'scope']);
    expect((await add({})).body.details).toEqual([expect.objectContaining({ path: 'address', message: expect.stringContaining('missing') })]);
    expect(await remove('hand@example.com', '?scope=news.example.com')).toMatchObject({ status: 200, body: { removed: 1 } });
    expect(await remove('HAND@example.com')).toMatchObject({ status: 200, body: { removed: 1 } });
    expect((await remove('hand@example.com')).status).toBe(404);
    expect((await suppressed()).map((s) => s.address)).not.toContain('hand@example.com');
  });

  it('/metrics counts events by provider and type, and webhook requests by status; the OpenAPI document has the routes', async () => {
    const metrics = (await call(server.url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/penguinmails_events_received_total\{provider="postmark",type="bounced_hard"\} [1-9]/);
    expect(metrics).toMatch(/penguinmails_events_received_total\{provider="sendgrid",type="complained"\} [1-9]/);
    expect(metrics).toMatch(/penguinmails_webhook_requests_total\{provider="postmark",status="401"\} [1-9]/);
    expect(metrics).not.toContain('provider="nope"');
    const openapi = (await get('/api/v1/openapi.json')).body;
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/webhooks/{provider}', '/api/v1/events', '/api/v1/suppressions', '/api/v1/suppressions/{address}']));
    expect(openapi.paths['/api/v1/webhooks/{provider}'].post.security).toEqual([]);
  });

  it('no webhook secret reaches the server log', () => {
    const log = server.output();
    expect(log).toContain('webhook refused');
    for (const secret of [POSTMARK_HOOK.password, MAILGUN_SIGNING_KEY, Buffer.from(`${POSTMARK_HOOK.username}:${POSTMARK_HOOK.password}`).toString('base64')]) expect(log).not.toContain(secret);
  });

  // Last: it restarts the server (the /metrics counts above are per process).
  it('one signature carries one request: the same token with other events, 8 at once, stores one; after a restart it is still refused', async () => {
    const signature = mailgunSignature(MAILGUN_SIGNING_KEY);
    const forgedEvents = Array.from({ length: 8 }, (_, i) => ({ signature, 'event-data': mailgunEventData('complained', `target${i}@example.net`, { id: `forged-${i}` }) }));
    const answers = await Promise.all(forgedEvents.map((body) => hook('mailgun', body)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 401)).toHaveLength(7);
    const listed = (await suppressed()).filter((s) => /^target\d@example\.net$/.test(s.address));
    expect(listed).toHaveLength(1);
    // Nor at another name with the same account's key.
    const elsewhere = { signature, 'event-data': mailgunEventData('complained', 'victim2@example.net', { id: 'forged-eu' }) };
    expect(await hook('mailgun-eu', elsewhere)).toMatchObject({ status: 401, body: { error: expect.stringContaining('used before') } });

    expect(await server.stop()).toBe(0);
    server = await startServer(configPath, serverDir);
    const replay = { signature, 'event-data': mailgunEventData('complained', 'ceo@example.net', { id: 'forged-after-restart' }) };
    expect(await hook('mailgun', replay)).toMatchObject({ status: 401, body: { error: expect.stringContaining('used before') } });
    expect(await eventsTo('ceo@example.net')).toEqual([]);
  });
});

describe('events.retention', () => {
  it('serve removes events received longer ago than events.retention (suppressions stay)', async () => {
    process.env.POSTMARK_WEBHOOK_PASSWORD = POSTMARK_HOOK.password;
    process.env.MAILGUN_WEBHOOK_SIGNING_KEY = MAILGUN_SIGNING_KEY;
    try {
      const dir = tempDir();
      const configPath = writeConfig(dir, { events: { retention: '1s' } });
      const key = await createKey(configPath, 'app');
      let server = await startServer(configPath, dir);
      const bounce = await call(server.url, 'POST', '/api/v1/webhooks/postmark', { 'content-type': 'application/json', authorization: basic(POSTMARK_HOOK.username, POSTMARK_HOOK.password) }, JSON.stringify(postmarkRecord.bounce('old@example.com', { id: 3001 })));
      expect(bounce.body).toMatchObject({ stored: 1, suppressed: 1 });
      expect(await server.stop()).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      // Pruned when serve starts (and every hour after).
      server = await startServer(configPath, dir);
      try {
        const listed = await call(server.url, 'GET', '/api/v1/events', { authorization: `Bearer ${key}` });
        expect(listed.body.events).toEqual([]);
        expect((await call(server.url, 'GET', '/api/v1/suppressions', { authorization: `Bearer ${key}` })).body.suppressions).toContainEqual(expect.objectContaining({ address: 'old@example.com' }));
      } finally {
        expect(await server.stop()).toBe(0);
      }
    } finally {
      delete process.env.POSTMARK_WEBHOOK_PASSWORD;
      delete process.env.MAILGUN_WEBHOOK_SIGNING_KEY;
    }
  });
});
