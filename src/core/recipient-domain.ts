/**
 * Recipient-domain conditions (`when: { recipientDomain: [outlook.com, hotmail.com, "*.live.com"] }`).
 * A name matches that exact domain, case-insensitively; `*.example.com` matches every subdomain
 * of example.com (not example.com itself: list both for both). MX-based groups ("every domain
 * hosted by Microsoft") would need DNS at send time and are not offered.
 */

/** The domain of `ada@Example.COM` or `Ada <ada@example.com>`, lower-cased; undefined when there is none. */
export function domainOf(address: string): string | undefined {
  const bare = /<([^<>]+)>\s*$/.exec(address)?.[1] ?? address;
  const at = bare.lastIndexOf('@');
  if (at < 0 || at === bare.length - 1) return undefined;
  return bare.slice(at + 1).trim().toLowerCase();
}

export function domainMatches(domain: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const wanted = pattern.toLowerCase();
    return wanted.startsWith('*.') ? domain.endsWith(wanted.slice(1)) : domain === wanted;
  });
}

/**
 * Why the recipients do not satisfy the condition, or undefined when they do.
 *
 * A message with several recipients (To, Cc and Bcc together) matches only when EVERY recipient's
 * domain is in the list. One message is one provider call, so the rule cannot send some recipients
 * one way and the rest another; "all" keeps the promise the rule makes (mail for these domains goes
 * this way, mail for others does not), and a mixed message falls through to the next rule. A bulk
 * send routes each row on its own, so there the rule is exact per recipient.
 */
export function recipientDomainMismatch(recipients: readonly string[] | undefined, patterns: readonly string[]): string | undefined {
  if (!recipients || recipients.length === 0) return 'recipients unknown (give --to to check the recipient-domain condition)';
  for (const recipient of recipients) {
    const domain = domainOf(recipient);
    if (!domain || !domainMatches(domain, patterns)) return `recipient ${recipient} is not at ${patterns.join(', ')}${recipients.length > 1 ? ' (every recipient must be)' : ''}`;
  }
  return undefined;
}

/** A recipient at a domain the pattern names (for analyses that try each rule's case). */
export function sampleRecipient(pattern: string): string {
  return `someone@${pattern.startsWith('*.') ? `mail${pattern.slice(1)}` : pattern}`;
}
