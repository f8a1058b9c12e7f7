import { mailgunDefinition } from './mailgun.js';
import { postmarkDefinition } from './postmark.js';
import { sendgridDefinition } from './sendgrid.js';
import { sesDefinition } from './ses.js';
import type { ProviderDefinition } from './provider.js';
import { noteProviderType, PROVIDER_TYPES as TYPES } from './provider-types.js';
import { smtpDefinition } from './smtp.js';

type AnyProviderDefinition = ProviderDefinition<{ type: string }>;

const definitions: AnyProviderDefinition[] = [];

/**
 * Every kind of ESP penguinmails can talk to, in display order. Config validation, the cost
 * strategies and catalog, `send` and the bundle's externals all read this list.
 */
export const PROVIDER_DEFINITIONS: readonly AnyProviderDefinition[] = definitions;
/** The types of PROVIDER_DEFINITIONS, same order (kept by provider-types.ts, the registry's light half). */
export const PROVIDER_TYPES: readonly string[] = TYPES;

export function findProviderDefinition(type: string): AnyProviderDefinition | undefined {
  return definitions.find((definition) => definition.type === type);
}

/**
 * Adds a kind of ESP to the registry. The built-in ones are registered below; a program embedding
 * penguinmails (or a test) can add its own before using the config, cost or send code.
 */
export function registerProviderDefinition<Config extends { type: string }>(definition: ProviderDefinition<Config>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.type)) throw new Error(`provider type "${definition.type}": lower-case letters, digits and dashes, starting with a letter`);
  if (definition.type === 'all' || definition.type === 'hybrid') throw new Error(`provider type "${definition.type}" is reserved for a cost strategy`);
  if (findProviderDefinition(definition.type)) throw new Error(`provider type "${definition.type}" is already registered`);
  const claimed = definition.catalog.hybridDefaultFor;
  const claimedBy = claimed && definitions.find((d) => d.catalog.hybridDefaultFor === claimed);
  if (claimedBy) throw new Error(`provider type "${definition.type}": ${claimedBy.type} already carries ${claimed} mail in the default hybrid`);
  noteProviderType(definition);
  definitions.push(definition as unknown as AnyProviderDefinition);
}

// A new ESP is its adapter file, its catalog file (catalog/), one line here and one in provider-types.ts.
registerProviderDefinition(postmarkDefinition);
registerProviderDefinition(mailgunDefinition);
registerProviderDefinition(smtpDefinition);
registerProviderDefinition(sendgridDefinition);
registerProviderDefinition(sesDefinition);

// provider-types.ts lists the built-in types for the cost model: it must list these, in this order.
if (TYPES.join() !== definitions.map((definition) => definition.type).join()) throw new Error(`provider-types.ts lists ${TYPES.join(', ')}; the registry has ${definitions.map((d) => d.type).join(', ')}`);
