import type { Config } from '../config/types.js';
import { bareAddress } from '../core/address.js';
import type { Attempt } from '../core/chain-runner.js';
import type { EmailMessage } from '../core/message.js';
import type { RecipientStatus } from '../core/provider-port.js';
import { findProviderDefinition } from '../providers/registry.js';
import type { Suppression, SuppressionRepository } from '../store/ports.js';
import { recipientAddressesOf } from './suppression-check.js';

/**
 * Suppressions learnt while sending: a provider's refusal that says the address is dead (Postmark
 * 406, SMTP 550 5.1.1) puts it on the list, so the next send stops before any provider — not only
 * the one that knew. Which refusals count is each provider definition's `deadAddressReason`.
 */

/** One recipient refused for good by a provider, as the application layer sees it. */
export interface Refusal {
  /** Bare, lower-cased. */
  address: string;
  /** The provider's name in the config. */
  provider: string;
  code?: string | number;
  message: string;
}

/** The suppressions these refusals prove ('*': a dead mailbox is dead whoever sends to it). */
export function deadAddressSuppressions(config: Config, refusals: Refusal[], now: number): Suppression[] {
  const found = new Map<string, Suppression>();
  for (const refusal of refusals) {
    const type = config.providers[refusal.provider]?.type;
    const reason = type ? findProviderDefinition(type)?.deadAddressReason?.(refusal) : undefined;
    if (reason && !found.has(refusal.address)) found.set(refusal.address, { address: refusal.address, scope: '*', reason, source: refusal.provider, createdAt: now });
  }
  return [...found.values()];
}

/** Puts the dead addresses among these refusals on the list (one store call); returns them. */
export async function suppressDeadAddresses(store: SuppressionRepository, config: Config, refusals: Refusal[], now: number): Promise<Suppression[]> {
  const proven = deadAddressSuppressions(config, refusals, now);
  if (proven.length) await store.addSuppressions(proven);
  return proven;
}

/** Recipients a provider refused for good while taking the message for the others. */
export function permanentRefusals(refused: RecipientStatus[] | undefined): Refusal[] {
  return (refused ?? []).flatMap((status) =>
    status.accepted || status.error.errorClass !== 'permanent'
      ? []
      : [{ address: bareAddress(status.address).toLowerCase(), provider: status.error.provider, code: status.error.code, message: status.error.message }],
  );
}

/**
 * A whole message refused for good: the refusing attempt (the last one) names the provider and
 * its answer; the recipients it applies to are those the answer names (Postmark lists the inactive
 * ones, an SMTP server the refused mailbox), or the message's only recipient.
 */
export function wholeMessageRefusals(message: EmailMessage, attempts: Attempt[]): Refusal[] {
  const refusing = [...attempts].reverse().find((attempt) => attempt.outcome === 'permanent');
  if (!refusing?.error) return [];
  const recipients = recipientAddressesOf(message);
  const named = recipients.filter((address) => mentions(refusing.error!, address));
  const refused = named.length ? named : recipients.length === 1 ? recipients : [];
  return refused.map((address) => ({ address, provider: refusing.provider, code: refusing.code, message: refusing.error! }));
}

/** Whether a text names this address as a whole (not "ada@x.com" inside "linda@x.com"). */
function mentions(text: string, address: string): boolean {
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w.+-])${escaped}(?![\\w-]|\\.\\w)`, 'i').test(text);
}

/** "now on the suppression list: a@x.com (inactive recipient …, from postmark)" */
export function learntText(learnt: Suppression[]): string {
  return `now on the suppression list (later sends to ${learnt.length === 1 ? 'it stop' : 'them stop'} before any provider): ${learnt.map((s) => `${s.address} (${s.reason}, from ${s.source})`).join(', ')}`;
}
