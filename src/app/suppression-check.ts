import { bareAddress } from '../core/address.js';
import type { EmailMessage } from '../core/message.js';
import type { Suppression, SuppressionRepository } from '../store/ports.js';

/**
 * The suppression list on the way out (SPEC "Events and suppressions"): every send path asks
 * here before any provider is called, so failover never routes round a suppressed address.
 * A suppression applies to a message when its scope is '*' or the From address's domain.
 */

/** A recipient found on the list, as results and reports show it. */
export interface SuppressedRecipient {
  address: string;
  /** '*' (every sending domain) or the From domain it applies to. */
  scope: string;
  reason: string;
  /** Who put it there: a provider name, 'manual', 'import'. */
  source: string;
  /** When it was put there (ISO time). */
  since: string;
}

/** The domain a message is sent from (lower-cased): the scope a domain-wide suppression names. */
export function sendingDomainOf(from: string): string {
  const address = bareAddress(from);
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Every recipient of a message (To, Cc, Bcc), bare and lower-cased, each once. */
export function recipientAddressesOf(message: Pick<EmailMessage, 'to' | 'cc' | 'bcc'>): string[] {
  return [...new Set([...message.to, ...message.cc, ...message.bcc].map((a) => bareAddress(a).toLowerCase()))];
}

export function describeSuppression(suppression: Suppression): SuppressedRecipient {
  return { address: suppression.address, scope: suppression.scope, reason: suppression.reason, source: suppression.source, since: new Date(suppression.createdAt).toISOString() };
}

/** Which of these addresses (lower-cased) may not receive mail from this From: one store query for all of them. */
export async function suppressedAmong(store: SuppressionRepository, addresses: string[], from: string | undefined): Promise<Map<string, SuppressedRecipient>> {
  if (addresses.length === 0) return new Map();
  // Without a From (route explain with no defaults.from) only the entries for every domain apply.
  const found = await store.suppressedAmong(addresses, from === undefined ? '*' : sendingDomainOf(from));
  return new Map([...found].map(([address, suppression]) => [address, describeSuppression(suppression)]));
}

/** The recipients of one message on the list (one store query), in the message's order. */
export async function suppressedRecipientsOf(store: SuppressionRepository, message: EmailMessage): Promise<SuppressedRecipient[]> {
  const addresses = recipientAddressesOf(message);
  const found = await suppressedAmong(store, addresses, message.from);
  return found.size === 0 ? [] : addresses.flatMap((address) => found.get(address) ?? []);
}

/** "a@x.com (hard bounce; postmark, 2026-01-02)" — one recipient's entry, for a reason or a warning. */
export function suppressionText(recipient: SuppressedRecipient): string {
  const scope = recipient.scope === '*' ? '' : `; for mail from ${recipient.scope}`;
  return `${recipient.address} (${recipient.reason}; ${recipient.source}, ${recipient.since.slice(0, 10)}${scope})`;
}

/**
 * The reason of a message rejected because of the list. A message with several recipients goes to
 * none of them when one is suppressed (see README "Suppression list": no silent change of who
 * gets it).
 */
export function suppressedReason(suppressed: SuppressedRecipient[], recipientCount: number): string {
  const who = suppressed.map(suppressionText).join(', ');
  const list = `on the suppression list: ${who}`;
  return recipientCount > suppressed.length ? `${list}; not sent to the other recipients either` : list;
}
