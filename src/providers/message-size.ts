import type { ProviderEntry } from '../config/types.js';
import { formatByteSize, parseByteSize } from '../core/byte-size.js';
import { UserError } from '../core/errors.js';
import type { EmailMessage } from '../core/message.js';
import type { Route } from '../core/router.js';
import { findProviderDefinition } from './registry.js';
import { SMTP_DEFAULT_MAX_MESSAGE_SIZE } from './smtp.js';

export interface SizeLimit {
  provider: string;
  bytes: number;
}

/** The message size limit of one configured provider, as its definition states it. */
export function providerSizeLimit(name: string, entry: ProviderEntry): SizeLimit {
  return { provider: name, bytes: findProviderDefinition(entry.type)!.maxMessageBytes(entry.settings) };
}

/**
 * The largest message any configured provider takes: no attachment bigger than that is worth
 * reading. With no provider configured (the send stops on that later) SMTP's default stands in.
 */
export function largestSizeLimit(providers: Record<string, ProviderEntry>): SizeLimit {
  const limits = Object.entries(providers).map(([name, entry]) => providerSizeLimit(name, entry));
  const fallback = { provider: 'any provider', bytes: parseByteSize(SMTP_DEFAULT_MAX_MESSAGE_SIZE)! };
  return limits.reduce<SizeLimit | undefined>((largest, limit) => (!largest || limit.bytes > largest.bytes ? limit : largest), undefined) ?? fallback;
}

/**
 * What the message weighs as sent, near enough: attachments in base64 plus the bodies. Headers,
 * addresses and the request's own framing are small beside a limit counted in megabytes.
 */
export function estimateMessageBytes(message: Pick<EmailMessage, 'attachments' | 'subject' | 'html' | 'text'>): number {
  const bodies = [message.subject, message.html, message.text].reduce((sum, part) => sum + (part ? Buffer.byteLength(part) : 0), 0);
  return message.attachments.reduce((sum, attachment) => sum + attachment.contentBase64.length, bodies);
}

/**
 * Checks the message against the size limit of each provider of the route, before anything is
 * sent. The first provider must take it: otherwise the send stops (exit 2) naming the attachments,
 * the provider and its limit, and the providers that would take it. A later provider that cannot
 * take it is dropped from the chain with a note: failing over to it could only end in a rejection.
 */
export function assertFitsProviders(message: EmailMessage, route: Pick<Route, 'chain' | 'notes'>, providers: Record<string, ProviderEntry>): void {
  const size = estimateMessageBytes(message);
  const [first, ...rest] = route.chain.map((name) => providerSizeLimit(name, providers[name]));
  if (first && size > first.bytes) {
    throw new UserError(`${describeContent(message, size)}: more than ${first.provider} takes (${formatByteSize(first.bytes)} per message)`, { hint: alternativesHint(size, first, providers) });
  }
  const tooSmall = rest.filter((limit) => size > limit.bytes);
  if (tooSmall.length === 0) return;
  route.chain.splice(0, route.chain.length, ...route.chain.filter((name) => !tooSmall.some((limit) => limit.provider === name)));
  for (const limit of tooSmall) route.notes.push(`${limit.provider} left out of the chain: the message (${formatByteSize(size)}) is over its ${formatByteSize(limit.bytes)} limit`);
}

/** "report.pdf (11 MB, 14.7 MB in base64) makes the message 14.7 MB", the largest attachments first. */
function describeContent(message: EmailMessage, size: number): string {
  const attachments = [...message.attachments].sort((a, b) => b.contentBase64.length - a.contentBase64.length);
  if (attachments.length === 0) return `the message is ${formatByteSize(size)}`;
  const named = attachments.slice(0, 3).map((a) => `${a.filename} (${formatByteSize(decodedLength(a.contentBase64))}, ${formatByteSize(a.contentBase64.length)} in base64)`);
  if (attachments.length > 3) named.push(`${attachments.length - 3} more`);
  return `attachment${attachments.length > 1 ? 's' : ''} ${named.join(', ')} make${attachments.length > 1 ? '' : 's'} the message ${formatByteSize(size)}`;
}

function alternativesHint(size: number, refusing: SizeLimit, providers: Record<string, ProviderEntry>): string {
  const takers = Object.entries(providers)
    .map(([name, entry]) => providerSizeLimit(name, entry))
    .filter((limit) => limit.bytes >= size)
    .sort((a, b) => b.bytes - a.bytes);
  const drop = `drop or shrink the attachment (or send a link to it); nothing was sent`;
  if (takers.length === 0) return `no configured provider takes ${formatByteSize(size)} (${refusing.provider}: ${formatByteSize(refusing.bytes)}): ${drop}`;
  return `${takers.map((limit) => `--provider ${limit.provider} takes up to ${formatByteSize(limit.bytes)}`).join('; ')}; or ${drop}`;
}

function decodedLength(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}
