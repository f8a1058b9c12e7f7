import { assertChainResolved } from '../config/unresolved-env.js';
import type { Config } from '../config/types.js';
import { noAlerts, type AlertSink } from '../core/alert.js';
import { IdempotencyConflictError } from '../core/errors.js';
import { deliverWithFailover, type Attempt, type DeliveryOutcome } from '../core/failover.js';
import { isRepeatDelivery } from '../core/idempotency.js';
import { contentKeyOf, hasDerivedKeyForm, recipientCount, type EmailMessage } from '../core/message.js';
import { resolveRoute, type Route } from '../core/router.js';
import { buildCostSetup } from '../cost/model.js';
import { freeAllowance } from '../cost/pricing.js';
import { findProviderDefinition } from '../providers/registry.js';
import type { Provider } from '../providers/provider.js';
import { monthKey, type Store } from '../store/ports.js';
import { SendRateLimiter } from './send-rate-limiter.js';
import { BudgetCaps, overBudget, withBudgetNotes } from './budget-caps.js';
import { suppressedReason, suppressedRecipientsOf, suppressionText, type SuppressedRecipient } from './suppression-check.js';
import { learntText, permanentRefusals, suppressDeadAddresses, wholeMessageRefusals } from './suppression-learning.js';

/** What routing looks at: the type and priority, and when known the recipients and the idempotency key. */
export type RoutedMessage = Pick<EmailMessage, 'type' | 'priority'> & Partial<Pick<EmailMessage, 'to' | 'cc' | 'bcc' | 'idempotencyKey'>>;

export interface DispatchOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  onAttempt?: (attempt: Attempt) => void;
  /** Where failovers, circuits opening, budget caps and quotas reached are reported (issue #22). */
  alerts?: AlertSink;
}

/** Result of one message through route → ledger check → failover → ledger/outbox. */
export interface Dispatch extends Omit<DeliveryOutcome, 'status'> {
  /** duplicate: delivered earlier under the same idempotency key (see duplicateOf); nothing was sent. */
  status: DeliveryOutcome['status'] | 'duplicate';
  duplicateOf?: { provider: string; messageId: string; deliveredAt: string };
  /** Rejected before any provider was called: these recipients are on the suppression list. */
  suppressed?: SuppressedRecipient[];
  /** The message overrides the list (ignoreSuppressions): these listed recipients were sent to anyway. */
  ignoredSuppressions?: SuppressedRecipient[];
}

/**
 * Wires the pure core (router, failover engine) to the providers and the store.
 * Commands use this; tests of the core use the core directly.
 */
export class Dispatcher {
  private readonly providers = new Map<string, Provider>();
  readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Send-side rate limits (providers.<n>.rateLimit), counted in the store; none without one (dry runs). */
  readonly rateLimiter: SendRateLimiter | undefined;
  /** pricing.<name>.budget: applied to every chain deliver() walks, and by the bulk sender per batch. */
  readonly budgets: BudgetCaps;

  constructor(
    readonly config: Config,
    readonly store: Store | undefined,
    private readonly options: DispatchOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.rateLimiter = store ? new SendRateLimiter(config, store, { now: this.now, sleep: this.sleep, alerts: options.alerts }) : undefined;
    this.budgets = new BudgetCaps(config, store, this.now, options.alerts);
  }

  /** Where failovers, circuits opening and caps reached are told (nobody, unless the edge gave a sink). */
  get alerts(): AlertSink {
    return this.options.alerts ?? noAlerts;
  }

  provider(name: string): Provider {
    let provider = this.providers.get(name);
    if (!provider) {
      const entry = this.config.providers[name];
      if (!entry) throw new Error(`provider "${name}" is not configured`);
      // A dry run previews requests with the placeholders; anything that calls a provider needs its secrets.
      if (this.store) assertChainResolved(this.config, [name]);
      provider = findProviderDefinition(entry.type)!.create(name, entry.settings as never, { timeoutMs: entry.timeoutMs });
      this.providers.set(name, provider);
    }
    return provider;
  }

  /**
   * The route of a message: rules over this month's usage ledger (volume, free tiers left), its
   * recipients (recipient-domain rules) and its idempotency key (a split's pick).
   */
  async route(message: RoutedMessage, options: { forceProvider?: string; noFailover?: boolean } = {}): Promise<Route> {
    const routeOf = await this.router(options);
    return routeOf(message);
  }

  /**
   * A router over one read of the usage ledger: a bulk send routes each row with it (each row is
   * its own message: its recipient, its own key), not only the template.
   */
  async router(options: { forceProvider?: string; noFailover?: boolean } = {}): Promise<(message: RoutedMessage) => Route> {
    const { config } = this;
    // The usage ledger is read only when a rule looks at it (one query less per message otherwise).
    const needsUsage = config.routing.rules.some((rule) => rule.when.monthlyVolume !== undefined || rule.when.freeTierLeft !== undefined);
    const usage = this.store && needsUsage ? await this.store.usageByProvider(monthKey(this.now())) : {};
    const monthlyVolume = Object.values(usage).reduce((sum, n) => sum + n, 0);
    const policy = { rules: config.routing.rules, defaultOrder: config.failover.order, failoverEnabled: config.failover.enabled };
    const freeTierLeft = this.freeTierLeft(usage);
    return (message) =>
      resolveRoute(
        policy,
        {
          type: message.type,
          priority: message.priority,
          monthlyVolume,
          freeTierLeft,
          recipients: message.to ? [...message.to, ...(message.cc ?? []), ...(message.bcc ?? [])] : undefined,
          splitKey: message.idempotencyKey,
        },
        options,
      );
  }

  /** "Free tier first" rules: a provider's free plan allowance against this month's usage ledger. */
  private freeTierLeft(usage: Record<string, number>): ((provider: string) => boolean) | undefined {
    if (!this.config.routing.rules.some((rule) => rule.when.freeTierLeft !== undefined)) return undefined;
    const setup = buildCostSetup(this.config);
    return (provider) => freeAllowance(setup.pricingOf(provider)) - (usage[provider] ?? 0) > 0;
  }

  /**
   * Sends unless the key was delivered recently enough to make this a repeat (see
   * isRepeatDelivery); records the delivery in the ledger. `waitingSince`: the message has waited
   * in the outbox since then.
   */
  async deliver(
    message: EmailMessage,
    chain: string[],
    options: {
      ignoreCircuit?: boolean;
      /** Before each provider call, and after one that refused without taking the message (see FailoverDeps). */
      beforeCall?: () => Promise<void>;
      afterRefusal?: () => Promise<void>;
      /** Before the first wait for a provider's rate limit (the send's attempt goes on record first). */
      beforeRateWait?: () => Promise<void>;
      ledgerChecked?: boolean;
      waitingSince?: number;
    } = {},
  ): Promise<Dispatch> {
    const earlier = options.ledgerChecked ? undefined : await this.store?.findDelivery(message.idempotencyKey);
    if (earlier && isRepeatDelivery(message, earlier.deliveredAt, this.now(), this.config.idempotency, options.waitingSince)) {
      // What the earlier message said: kept with an explicit key's delivery; a derived key's is the
      // key itself. An explicit key of that form that another message derived (given by mistake,
      // or to block it) must not answer "duplicate" for a message never sent.
      const earlierContent = earlier.contentKey ?? (message.idempotencyKeySource !== 'derived' && hasDerivedKeyForm(message.idempotencyKey) ? message.idempotencyKey : undefined);
      if (earlierContent !== undefined && earlierContent !== contentKeyOf(message)) {
        throw new IdempotencyConflictError(message.idempotencyKey, `delivered by ${earlier.provider} as ${earlier.messageId} on ${new Date(earlier.deliveredAt).toISOString()}`);
      }
      return {
        status: 'duplicate',
        provider: earlier.provider,
        messageId: earlier.messageId,
        attempts: [],
        warnings: [],
        duplicateOf: { provider: earlier.provider, messageId: earlier.messageId, deliveredAt: new Date(earlier.deliveredAt).toISOString() },
      };
    }
    // Before any provider: one store query for all the recipients (SPEC: never routed round).
    const listed = this.store ? await suppressedRecipientsOf(this.store, message) : [];
    if (listed.length && !message.ignoreSuppressions) {
      return { status: 'rejected', attempts: [], warnings: [], reason: suppressedReason(listed, recipientCount(message)), suppressed: listed };
    }
    const { failover } = this.config;
    const budgeted = await this.budgets.chain(chain, recipientCount(message), { idempotencyKey: message.idempotencyKey });
    if (budgeted && budgeted.chain.length === 0) return overBudget(budgeted);
    const outcome: Dispatch = await deliverWithFailover(
      message,
      budgeted?.chain ?? chain,
      { attempts: failover.retry.attempts, delayMs: failover.retry.delayMs, maxRetryAfterMs: failover.retry.maxRetryAfterMs, resendAmbiguous: failover.resendAmbiguous },
      {
        getProvider: (name) => this.provider(name),
        sleep: this.sleep,
        now: this.now,
        health: this.store ? { book: this.store, policy: failover.health } : undefined,
        ignoreCircuit: options.ignoreCircuit,
        onAttempt: this.options.onAttempt,
        alerts: this.options.alerts,
        beforeCall: options.beforeCall,
        afterRefusal: options.afterRefusal,
        admit: this.rateLimiter && ((name, item) => this.rateLimiter!.admitMessage(name, recipientCount(item), { beforeWait: options.beforeRateWait })),
      },
    );
    if (budgeted) withBudgetNotes(outcome, budgeted);
    if (outcome.status === 'delivered' && this.store) {
      await this.store.recordDelivery(message, outcome.provider!, outcome.messageId!, this.now(), recipientCount(message));
    }
    if (message.ignoreSuppressions) {
      outcome.ignoredSuppressions = listed;
      if (listed.length) outcome.warnings.unshift(`sent despite the suppression list (override asked for): ${listed.map(suppressionText).join(', ')}`);
    }
    if (this.store) await this.learnDeadAddresses(message, outcome);
    return outcome;
  }

  /**
   * A refusal saying an address is dead (Postmark 406, SMTP 5.1.1) puts it on the suppression list.
   * Best effort: the outcome is already decided and recorded, so a store failure here is a warning.
   */
  private async learnDeadAddresses(message: EmailMessage, outcome: Dispatch): Promise<void> {
    const refusals = outcome.status === 'rejected' ? wholeMessageRefusals(message, outcome.attempts) : permanentRefusals(outcome.refused);
    if (refusals.length === 0) return;
    try {
      const learnt = await suppressDeadAddresses(this.store!, this.config, refusals, this.now());
      if (learnt.length) outcome.warnings.push(learntText(learnt));
    } catch (error) {
      outcome.warnings.push(`could not put ${refusals.map((r) => r.address).join(', ')} on the suppression list (${error instanceof Error ? error.message : String(error)}); \`suppressions add\` does it by hand`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.close?.()));
  }
}

