/**
 * The processes the serve benchmark measures against, each run as `node dist-bench/bench/serve-helpers.js <role>`
 * so that the load generator, the fake ESP and the server under test do not share an event loop:
 * - `fake-postmark <latencyMs>`: the test suite's fake Postmark answering after a fixed latency;
 * - `floor <postmarkUrl>`: the least a server can do for one send: a minimal Fastify route that
 *   makes one `fetch` to the ESP and answers with its result.
 * Each prints `listening on <url>` on stderr when ready.
 */
import Fastify from 'fastify';
import { FakePostmark, POSTMARK_TOKEN } from '../test/fakes/fake-postmark.js';

const [role, arg] = process.argv.slice(2);

if (role === 'fake-postmark') {
  const fake = new FakePostmark();
  fake.latencyMs = Number(arg ?? 20);
  fake.keepBodies = false;
  const url = await fake.start();
  // The recorded requests would grow without end over a long run.
  setInterval(() => fake.reset(), 1_000).unref();
  process.stderr.write(`listening on ${url}\n`);
} else if (role === 'floor') {
  const app = Fastify();
  app.post('/api/v1/emails/send', async (request) => {
    const body = request.body as { from: string; to: string; subject: string; text_body: string };
    const answer = await fetch(`${arg}/email`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Postmark-Server-Token': POSTMARK_TOKEN },
      body: JSON.stringify({ From: body.from, To: body.to, Subject: body.subject, TextBody: body.text_body, MessageStream: 'outbound' }),
    });
    const sent = (await answer.json()) as { MessageID: string };
    return { status: 'delivered', provider: 'postmark', messageId: sent.MessageID };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  process.stderr.write(`listening on http://127.0.0.1:${port}\n`);
} else {
  console.error('usage: serve-helpers.js fake-postmark <latencyMs> | floor <postmarkUrl>');
  process.exit(2);
}
