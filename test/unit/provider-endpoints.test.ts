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
