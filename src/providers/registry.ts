import { mailgunDefinition } from './mailgun.js';
import { postmarkDefinition } from './postmark.js';
import type { ProviderDefinition } from './provider.js';
import { smtpDefinition } from './smtp.js';

/** Every kind of ESP penguinmails can talk to. A new ESP is one file plus one line here. */
export const PROVIDER_DEFINITIONS: readonly ProviderDefinition<{ type: string }>[] = [
  postmarkDefinition as unknown as ProviderDefinition<{ type: string }>,
  mailgunDefinition as unknown as ProviderDefinition<{ type: string }>,
  smtpDefinition as unknown as ProviderDefinition<{ type: string }>,
];

export function findProviderDefinition(type: string): ProviderDefinition<{ type: string }> | undefined {
  return PROVIDER_DEFINITIONS.find((definition) => definition.type === type);
}

export const PROVIDER_TYPES = PROVIDER_DEFINITIONS.map((definition) => definition.type);
