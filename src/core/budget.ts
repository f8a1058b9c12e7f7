/**
 * Monthly budget caps per provider (`pricing.<name>.budget: { monthly: 50, action }`). The
 * application layer prices this month's usage ledger with the cost model; this file only decides,
 * from those figures, what the cap does to a chain. Money is in US dollars.
 */
export type BudgetAction = 'failover' | 'queue' | 'warn';

export interface BudgetCap {
  /** US dollars per calendar month (UTC, as the usage ledger counts). */
  monthly: number;
  action: BudgetAction;
}

export interface BudgetStanding {
  provider: string;
  cap: BudgetCap;
  /** This month's spend so far: the cost model over the ledger's count. */
  spent: number;
  /** The spend once the emails about to be sent are counted too. */
  after: number;
}

export interface BudgetVerdict extends BudgetStanding {
  /** Sending these emails would put the month's spend over the cap. */
  over: boolean;
  /** One sentence: where the spend stands and what the cap does about it. */
  text: string;
}

/** What each action does once the cap would be passed, for people. */
export const BUDGET_ACTION_TEXT: Record<BudgetAction, string> = {
  failover: 'skipped: the next provider of the chain sends instead',
  queue: 'held: the message waits in the outbox (pending) and is retried later',
  warn: 'sent anyway, with a warning',
};

function usd(amount: number): string {
  return `$${amount.toFixed(2)}`;
}

export function budgetVerdict(standing: BudgetStanding): BudgetVerdict {
  const { provider, cap, spent, after } = standing;
  // A small tolerance: spend comes from nano-dollar sums turned into floats.
  const over = after > cap.monthly + 1e-9;
  const text = over
    ? `${provider}: this month's spend ${usd(spent)} would reach ${usd(after)}, over its budget of ${usd(cap.monthly)} (pricing.${provider}.budget): ${BUDGET_ACTION_TEXT[cap.action]}`
    : `${provider}: ${usd(spent)} of its ${usd(cap.monthly)} monthly budget spent; past it the provider is ${BUDGET_ACTION_TEXT[cap.action].split(':')[0]}`;
  return { ...standing, over, text };
}

export interface BudgetedChain {
  /** The providers still to try, in order. */
  chain: string[];
  /** Left out by a `failover` cap. */
  skipped: BudgetVerdict[];
  /** A `queue` cap stopped the chain here: this provider and those after it are not tried now. */
  heldAt?: BudgetVerdict;
  /** Over a `warn` cap: tried anyway. */
  warned: BudgetVerdict[];
}

/**
 * A chain after its providers' caps: `failover` leaves the provider out, `warn` keeps it, `queue`
 * ends the chain before it (the providers ahead of it are still tried: they are within budget, or
 * have none). `verdictOf` gives undefined for a provider without a cap.
 */
export function applyBudgets(chain: readonly string[], verdictOf: (provider: string) => BudgetVerdict | undefined): BudgetedChain {
  const result: BudgetedChain = { chain: [], skipped: [], warned: [] };
  for (const provider of chain) {
    const verdict = verdictOf(provider);
    if (!verdict?.over) result.chain.push(provider);
    else if (verdict.cap.action === 'failover') result.skipped.push(verdict);
    else if (verdict.cap.action === 'warn') {
      result.warned.push(verdict);
      result.chain.push(provider);
    } else {
      result.heldAt = verdict;
      break;
    }
  }
  return result;
}

/** Every verdict over its cap, in chain order: the caps reached (each raises an alert). */
export function capsReached(budgeted: BudgetedChain): BudgetVerdict[] {
  return [...budgeted.skipped, ...(budgeted.heldAt ? [budgeted.heldAt] : []), ...budgeted.warned];
}
