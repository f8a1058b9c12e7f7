import type { Config } from '../config/types.js';
import type { AlertSink } from '../core/alert.js';
import { applyBudgets, capsReached, type BudgetedChain, type BudgetVerdict } from '../core/budget.js';
import type { Attempt, DeliveryOutcome } from '../core/failover.js';
import { anyBudget, budgetVerdictFor } from '../cost/budget.js';
import { buildCostSetup, type CostSetup } from '../cost/model.js';
import { monthKey, type Store } from '../store/ports.js';

/**
 * Monthly budget caps (pricing.<name>.budget) on the way out: the pure decision (core/budget.ts)
 * fed with this month's spend, priced by the cost model from the store's usage ledger. Used by the
 * dispatcher for every message (send, API, outbox retries, the worker) and by the bulk sender per batch.
 */
export class BudgetCaps {
  private costSetup?: CostSetup;
  /** Caps already reported, as "provider month": one alert per cap reached per process. */
  private readonly alerted = new Set<string>();

  constructor(
    private readonly config: Config,
    private readonly store: Store | undefined,
    private readonly now: () => number,
    private readonly alerts: AlertSink | undefined,
  ) {}

  /** Some provider has a cap, and there is a store to price its usage from. */
  get apply(): boolean {
    return anyBudget(this.config) && this.store !== undefined;
  }

  /**
   * The chain after its providers' caps for `emails` more emails, priced from this month's usage
   * ledger (or `usage`, a bulk run's own count); undefined when no provider of the chain has a cap.
   * Each cap reached raises a `budget-cap-reached` alert, once per month and process.
   */
  async chain(chain: string[], emails: number, options: { usage?: Record<string, number>; idempotencyKey?: string } = {}): Promise<BudgetedChain | undefined> {
    if (!this.apply) return undefined;
    const month = monthKey(this.now());
    const usage = options.usage ?? (await this.store!.usageByProvider(month));
    const setup = (this.costSetup ??= buildCostSetup(this.config));
    const verdicts = new Map<string, BudgetVerdict | undefined>(chain.map((name) => [name, budgetVerdictFor(this.config, setup, name, usage[name] ?? 0, emails)]));
    if (![...verdicts.values()].some(Boolean)) return undefined;
    const budgeted = applyBudgets(chain, (name) => verdicts.get(name));
    for (const verdict of capsReached(budgeted)) this.raise(verdict, month, options.idempotencyKey);
    return budgeted;
  }

  private raise(verdict: BudgetVerdict, month: string, idempotencyKey: string | undefined): void {
    const seen = `${verdict.provider} ${month}`;
    if (this.alerted.has(seen)) return;
    this.alerted.add(seen);
    this.alerts?.raise({
      kind: 'budget-cap-reached',
      provider: verdict.provider,
      message: verdict.text,
      idempotencyKey,
      at: new Date(this.now()),
      details: { month, spent: verdict.spent, after: verdict.after, cap: verdict.cap.monthly, action: verdict.cap.action },
    });
  }
}

/** A provider left out by its cap, as the attempts list shows it. */
function budgetSkip(verdict: BudgetVerdict): Attempt {
  return { provider: verdict.provider, try: 0, outcome: 'skipped', ms: 0, note: verdict.text };
}

/** Nothing of the chain may be sent now (every provider over its cap, or a `queue` cap first): the message waits. */
export function overBudget(budgeted: BudgetedChain): DeliveryOutcome {
  const reason = budgeted.heldAt ? budgeted.heldAt.text : `every provider of the chain is over its budget (${budgeted.skipped.map((v) => v.provider).join(', ')})`;
  return { status: 'undelivered', attempts: budgeted.skipped.map(budgetSkip), warnings: budgeted.warned.map((v) => v.text), reason };
}

/** The caps' part in an outcome: skipped providers lead the attempts; a hold and warnings are said. */
export function withBudgetNotes(outcome: Pick<DeliveryOutcome, 'attempts' | 'warnings' | 'reason'> & { status: string }, budgeted: BudgetedChain): void {
  outcome.attempts.unshift(...budgeted.skipped.map(budgetSkip));
  outcome.warnings.push(...budgeted.warned.map((v) => v.text));
  if (budgeted.heldAt && outcome.status === 'undelivered') outcome.reason = `${outcome.reason ?? 'not delivered'}; ${budgeted.heldAt.text}`;
}
