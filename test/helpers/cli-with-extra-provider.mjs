#!/usr/bin/env node
// The CLI with one more ESP, "acme", added the way a new adapter is: a ProviderDefinition handed to
// the registry, and nothing else. Runs the compiled modules (dist/, not the bundle) so that this
// script and the CLI share the one registry module. Acme sends nowhere: a send is accepted with an
// id made from the idempotency key. Used by test/e2e/extra-provider.test.ts as runCli's `bin`.
import * as z from 'zod';
import { commonProviderFields } from '../../dist/providers/common-config.js';
import { registerProviderDefinition } from '../../dist/providers/registry.js';

const ACME_URL = 'https://api.acme.example/v1/messages';

class AcmeProvider {
  type = 'acme';
  maxBulkRecipients = 100;

  constructor(name, config) {
    this.name = name;
    this.config = config;
  }

  request(message) {
    return { method: 'POST', url: ACME_URL, headers: { Authorization: `Bearer ${this.config.apiKey}` }, body: { from: message.from, to: message.to, subject: message.subject, text: message.text } };
  }

  previewRequest(message) {
    return this.request(message);
  }

  previewBulkRequest(template, recipients) {
    return recipients.map((recipient) => this.request({ ...template, to: [recipient.email] }));
  }

  async send(message) {
    return { messageId: `acme-${message.idempotencyKey}` };
  }

  async sendBulk(template, recipients) {
    return recipients.map((recipient) => ({ email: recipient.email, ok: true, messageId: `acme-${recipient.email}` }));
  }

  async prepare() {}
}

registerProviderDefinition({
  type: 'acme',
  label: 'Acme Mail',
  configSchema: z.strictObject({ type: z.literal('acme'), apiKey: z.string().min(1), ...commonProviderFields }),
  secretKeys: ['apiKey'],
  maxMessageBytes: () => 5_000_000,
  catalog: { readOn: '2026-01', source: 'acme.example/pricing', plans: [{ name: 'starter', monthly: 5, included: 1000, overagePer1k: 1 }] },
  sdkPackages: [],
  create: (name, config) => new AcmeProvider(name, config),
});

const { main } = await import('../../dist/cli/main.js');
process.exitCode = await main(process.argv);
