import { suppressedAmong } from '../app/suppression-check.js';
import type { Config } from '../config/types.js';
import { bareAddress } from '../core/address.js';
import type { MessageType, Priority } from '../core/message.js';
import { explainRoute, type RouteExplanation } from './explain.js';
import { buildCostSetup } from '../cost/model.js';
import { monthKey, type Store } from '../store/ports.js';
import type { SuggestCommand } from '../core/suggest-command.js';

export interface RouteQuery {
  type?: MessageType;
  priority?: Priority;
  to?: string;
  /** Decides a weighted split's pick (the message's idempotency key). */
  idempotencyKey?: string;
  /** Emails sent this month so far (default: the usage ledger). */
  monthlyVolume?: number;
}

/** Where a message would go and why (route explain), from the config and, if there is one, the store's ledger and health. */
export async function explainRouteFor(config: Config, store: Store | undefined, query: RouteQuery, now = Date.now(), suggest?: SuggestCommand): Promise<RouteExplanation> {
  const month = monthKey(now);
  const ledger = store ? await store.usageByProvider(month) : {};
  const names = Object.keys(config.providers);
  const rates = new Map(
    await Promise.all(
      names.map(async (name) => {
        const limits = config.providers[name].rateLimits;
        return [name, { limits, windows: store && limits.length ? await store.rateWindows(name, limits, now) : undefined }] as const;
      }),
    ),
  );
  const health = store ? new Map(await Promise.all(names.map(async (name) => [name, await store.healthOf(name)] as const))) : undefined;
  // Scoped entries count for mail from defaults.from (route explain has no From of its own).
  const address = query.to ? bareAddress(query.to).toLowerCase() : undefined;
  const suppressed = store && address ? (await suppressedAmong(store, [address], config.defaults.from)).get(address) : undefined;
  return explainRoute(buildCostSetup(config), config.failover, (name) => config.providers[name]?.type ?? name, {
    type: query.type ?? config.defaults.type,
    priority: query.priority ?? 'normal',
    to: query.to,
    idempotencyKey: query.idempotencyKey,
    monthlyVolume: query.monthlyVolume,
    ledger,
    ledgerSource: store ? `usage ledger, ${month}` : 'no usage ledger yet: nothing sent',
    health: health ? (provider) => health.get(provider) : undefined,
    rateLimits: (provider) => rates.get(provider) ?? { limits: [] },
    suppressed,
    now,
    suggest,
  }, config);
}
