/**
 * The floor of bench/bulk.ts: a plain script that sends a recipient list the way a hand-written
 * batching loop would — read the CSV, POST the same batches (the same bodies the CLI sends: one
 * personalised copy and idempotency key per recipient) with node:http keep-alive connections, at
 * the same concurrency — and nothing else: no config, no outbox, no SDK, no resume, no failover.
 * Its CPU time is what the CLI's is compared with.
 *
 * With `--prebuilt` it is the ceiling instead: every request body is built before its clock
 * starts, so that between an answer and the next request it does nothing but write that body.
 * Its sending time is the best any client reaches against these fakes on this machine.
 *
 *   node dist-bench/bench/bulk-floor.js <postmark|mailgun> <baseUrl> <list.csv> <concurrency> <token> [--prebuilt]
 *
 * Prints `{"delivered": n, "elapsedMs": ms}` on stdout; any failed call stops it (exit 1).
 */
import { hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Agent, request } from 'node:http';

const [provider, baseUrl, list, concurrencyText, token, mode] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
if ((provider !== 'postmark' && provider !== 'mailgun') || !baseUrl || !list || !(concurrency >= 1) || !token || (mode !== undefined && mode !== '--prebuilt')) {
  console.error('usage: bulk-floor <postmark|mailgun> <baseUrl> <list.csv> <concurrency> <token> [--prebuilt]');
  process.exit(2);
}

const FROM = 'news@example.com';
const MESSAGE_KEY = 'bench-floor';
const KEY_HEADER = 'X-PenguinMails-Idempotency-Key';
const agent = new Agent({ keepAlive: true });
const url = new URL(baseUrl);

interface Recipient {
  email: string;
  name: string;
  /** The recipient's part of its copy's idempotency key, as the CLI makes one per row. */
  digest: string;
}

/** The list's rows (`email,name` after a header, as the benchmark writes it), read as a stream, in batches. */
async function* batchesOf(file: string, size: number): AsyncGenerator<Recipient[]> {
  let batch: Recipient[] = [];
  let rest = '';
  let header = true;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (header || line === '') {
        header = false;
        continue;
      }
      const comma = line.indexOf(',');
      batch.push({ email: line.slice(0, comma), name: line.slice(comma + 1), digest: hash('sha256', line, 'hex').slice(0, 24) });
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (rest !== '') batch.push({ email: rest.slice(0, rest.indexOf(',')), name: rest.slice(rest.indexOf(',') + 1), digest: hash('sha256', rest, 'hex').slice(0, 24) });
  if (batch.length) yield batch;
}

function post(path: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = request(url.origin + path, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`));
        else resolve(text);
      });
    });
    call.on('error', reject);
    call.end(body);
  });
}

/** One provider call: what is posted, and how its answer is checked. */
interface Call {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  check: (answer: string) => void;
}

function postmarkCall(batch: Recipient[]): Call {
  const messages = batch.map((r) => ({
    From: FROM,
    To: r.email,
    Subject: `Hi ${r.name}`,
    HtmlBody: `<p>Hello ${r.name}</p>`,
    Headers: [{ Name: KEY_HEADER, Value: `${MESSAGE_KEY}/${r.digest}` }],
    MessageStream: 'broadcast',
  }));
  const check = (text: string) => {
    const answer = JSON.parse(text) as { ErrorCode: number }[];
    if (answer.length !== batch.length || answer.some((a) => a.ErrorCode !== 0)) throw new Error('postmark refused part of a batch');
  };
  return { path: '/email/batch', headers: { 'x-postmark-server-token': token, accept: 'application/json', 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(messages)), check };
}

const BOUNDARY = '----bench-floor-boundary';
function part(name: string, value: string): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
}

function mailgunCall(batch: Recipient[]): Call {
  const variables: Record<string, { s_name: string; h_name: string; key: string }> = {};
  for (const r of batch) variables[r.email] = { s_name: r.name, h_name: r.name, key: r.digest };
  const body =
    part('from', FROM) +
    part('to', batch.map((r) => r.email).join(', ')) +
    part('subject', 'Hi %recipient.s_name%') +
    part('html', '<p>Hello %recipient.h_name%</p>') +
    part(`h:${KEY_HEADER}`, `${MESSAGE_KEY}/%recipient.key%`) +
    part('recipient-variables', JSON.stringify(variables)) +
    `--${BOUNDARY}--\r\n`;
  const headers = { authorization: `Basic ${Buffer.from(`api:${token}`).toString('base64')}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
  const check = (text: string) => {
    if (!(JSON.parse(text) as { id?: string }).id) throw new Error('mailgun answered without an id');
  };
  return { path: '/v3/mg.example.com/messages', headers, body: Buffer.from(body), check };
}

const callFor = provider === 'postmark' ? postmarkCall : mailgunCall;
const batchSize = provider === 'postmark' ? 500 : 1000;
const send = async (call: Call) => call.check(await post(call.path, call.headers, call.body));
let delivered = 0;
let started: number;
if (mode === '--prebuilt') {
  const pending: { call: Call; size: number }[] = [];
  for await (const batch of batchesOf(list, batchSize)) pending.push({ call: callFor(batch), size: batch.length });
  started = performance.now();
  // `concurrency` connections, each posting the next body as soon as its last answer is in.
  const connection = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      await send(next.call);
      delivered += next.size;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, connection));
} else {
  started = performance.now();
  const calls = new Set<Promise<void>>();
  for await (const batch of batchesOf(list, batchSize)) {
    // At most `concurrency` calls at once: the next batch waits for a call to end.
    if (calls.size >= concurrency) await Promise.race(calls);
    const call = send(callFor(batch)).then(() => {
      delivered += batch.length;
      calls.delete(call);
    });
    calls.add(call);
  }
  await Promise.all(calls);
}
agent.destroy();
console.log(JSON.stringify({ delivered, elapsedMs: Math.round(performance.now() - started) }));
