import { describe, expect, it } from 'vitest';
import { finalizeMessage } from '../../src/core/message.js';
import { mailgunDefinition } from '../../src/providers/mailgun.js';
import { postmarkDefinition } from '../../src/providers/postmark.js';

const message = finalizeMessage({ from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], subject: 'S', text: 'T', type: 'transactional', priority: 'normal', tags: [], metadata: {}, headers: [], attachments: [] });
const options = { timeoutMs: 1000 };

describe('where each provider sends', () => {
  it('mailgun: region us/eu picks the API host; baseUrl overrides it', () => {
    const url = (config: Record<string, unknown>) =>
      (mailgunDefinition.create('mg', mailgunDefinition.configSchema.parse({ type: 'mailgun', apiKey: 'k', domain: 'mg.example.com', ...config }), options).previewRequest(message) as { url: string }).url;
    expect(url({})).toBe('https://api.mailgun.net/v3/mg.example.com/messages');
    expect(url({ region: 'eu' })).toBe('https://api.eu.mailgun.net/v3/mg.example.com/messages');
    expect(url({ baseUrl: 'http://127.0.0.1:8025/' })).toBe('http://127.0.0.1:8025/v3/mg.example.com/messages');
  });

  it('postmark: baseUrl gives requestHost and useHttps, a path prefix included', () => {
    const url = (config: Record<string, unknown>) =>
      (postmarkDefinition.create('pm', postmarkDefinition.configSchema.parse({ type: 'postmark', serverToken: 't', ...config }), options).previewRequest(message) as { url: string }).url;
    expect(url({})).toBe('https://api.postmarkapp.com/email');
    expect(url({ baseUrl: 'https://gateway.example.com/postmark/' })).toBe('https://gateway.example.com/postmark/email');
    expect(url({ baseUrl: 'http://localhost:9000' })).toBe('http://localhost:9000/email');
  });

  it('plain http is refused outside loopback', () => {
    expect(postmarkDefinition.configSchema.safeParse({ type: 'postmark', serverToken: 't', baseUrl: 'http://10.0.0.5' }).success).toBe(false);
    expect(mailgunDefinition.configSchema.safeParse({ type: 'mailgun', apiKey: 'k', domain: 'd', baseUrl: 'http://[::1]:8080' }).success).toBe(true);
  });
});

describe('prepare()', () => {
  it('connects to no provider, and can be called again', async () => {
    const { createServer } = await import('node:net');
    const { smtpDefinition } = await import('../../src/providers/smtp.js');
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const providers = [
      postmarkDefinition.create('pm', postmarkDefinition.configSchema.parse({ type: 'postmark', serverToken: 't', baseUrl: `http://127.0.0.1:${port}` }), options),
      mailgunDefinition.create('mg', mailgunDefinition.configSchema.parse({ type: 'mailgun', apiKey: 'k', domain: 'mg.example.com', baseUrl: `http://127.0.0.1:${port}` }), options),
      smtpDefinition.create('smtp', smtpDefinition.configSchema.parse({ type: 'smtp', host: '127.0.0.1', port }), options),
    ];
    try {
      for (const provider of providers) {
        await provider.prepare();
        await provider.prepare();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(connections).toBe(0);
    } finally {
      for (const provider of providers) await provider.close?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
