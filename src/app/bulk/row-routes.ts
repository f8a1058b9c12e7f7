import { bulkRecipientKey } from '../../core/bulk-key.js';
import type { EmailMessage } from '../../core/message.js';
import { rowsCanRouteApart } from '../../core/router.js';
import { estimateMessageBytes, providerSizeLimit } from '../../providers/message-size.js';
import type { Dispatcher } from '../dispatcher.js';

/**
 * Each row of a bulk send is its own message: with a weighted split or a recipient-domain rule,
 * rows of one list go to different chains. This gives each row's chain (its recipient, its own
 * idempotency key "<message key>/<digest>", so a rerun picks as the first run did), over one read
 * of the usage ledger. Undefined when no rule can tell this message's rows apart (see
 * rowsCanRouteApart): every row then takes the template's chain, routed once.
 */
export async function rowRouter(
  dispatcher: Dispatcher,
  template: EmailMessage,
  options: { forceProvider?: string; noFailover?: boolean },
): Promise<((row: { email: string; digest: string }) => string[]) | undefined> {
  if (!rowsCanRouteApart(dispatcher.config.routing.rules, template)) return undefined;
  const routeOf = await dispatcher.router(options);
  const { providers } = dispatcher.config;
  // The copies all carry the template's body and attachments: a provider that cannot take them is left out.
  const size = estimateMessageBytes(template);
  const fits = (name: string) => size <= providerSizeLimit(name, providers[name]).bytes;
  const cache = new Map<string, string[]>();
  return (row) => {
    const { chain } = routeOf({ type: template.type, priority: template.priority, to: [row.email], idempotencyKey: bulkRecipientKey(template.idempotencyKey, row.digest) });
    const usable = chain.filter(fits);
    const picked = usable.length ? usable : chain;
    // One array per distinct chain: rows are grouped by it.
    const key = picked.join('\n');
    if (!cache.has(key)) cache.set(key, picked);
    return cache.get(key)!;
  };
}
