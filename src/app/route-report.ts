import type { Config } from '../config/validate.js';
import type { MessageType, Priority } from '../core/message.js';
import { explainRoute, type RouteExplanation } from '../cost/explain.js';
import { buildCostSetup } from '../cost/model.js';
import { monthKey, type Store } from '../store/store.js';

export interface RouteQuery {
  type?: MessageType;
  priority?: Priority;
  to?: string;
  /** Emails sent this month so far (default: the usage ledger). */
  monthlyVolume?: number;
}

/** Where a message would go and why (route explain), from the config and, if there is one, the store's ledger and health. */
export function explainRouteFor(config: Config, store: Store | undefined, query: RouteQuery, now = Date.now()): RouteExplanation {
  const month = monthKey(now);
  return explainRoute(buildCostSetup(config), config.failover, (name) => config.providers[name]?.type ?? name, {
    type: query.type ?? config.defaults.type,
    priority: query.priority ?? 'normal',
    to: query.to,
    monthlyVolume: query.monthlyVolume,
    ledger: store ? store.usageByProvider(month) : {},
    ledgerSource: store ? `usage ledger, ${month}` : 'no usage ledger yet: nothing sent',
    health: store ? (provider) => store.get(provider) : undefined,
    now,
  });
}
