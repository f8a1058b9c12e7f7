import { suppressionText, type SuppressedRecipient } from '../app/suppression-check.js';
import type { FailoverPolicy } from '../config/types.js';
import { formatDuration } from '../core/duration.js';
import type { ErrorClass } from '../core/errors.js';
import { circuitState, describeHealth, formatClockUtc, type CircuitState, type HealthRecord } from '../core/health.js';
import type { MessageType, Priority } from '../core/message.js';
import { windowName, type RateLimit, type WindowState } from '../core/rate-limit.js';
import { BUDGET_ACTION_TEXT, type BudgetAction } from '../core/budget.js';
import { describeConditions, resolveRoute, type Route, type Rule, type RuleCondition, type SplitPick } from '../core/router.js';
import { budgetVerdictFor } from '../cost/budget.js';
import { dollars, formatNanos, groupThousands, nanosToDollars } from '../cost/money.js';
import type { CostSetup } from '../cost/model.js';
import { formatCount, marginalCost } from '../cost/plan.js';
import { freeAllowance } from '../cost/pricing.js';
import type { SuggestCommand } from '../core/suggest-command.js';

export interface ExplainInput {
  type: MessageType;
  priority: Priority;
  to?: string;
  /** --idempotency-key: decides a weighted split's pick. */
  idempotencyKey?: string;
  /** --monthly-volume; undefined = the usage ledger. */
  monthlyVolume?: number;
  /** Month-to-date emails per provider from the usage ledger (empty without one). */
  ledger: Record<string, number>;
  /** Where the ledger came from, e.g. "usage ledger 2026-07", or why there is none. */
  ledgerSource: string;
  /** Health records; undefined = no store to read them from. */
  health?: (provider: string) => HealthRecord | undefined;
  /** Each provider's rate limits and their windows now (windows undefined: no store to count in yet). */
  rateLimits?: (provider: string) => { limits: RateLimit[]; windows?: WindowState[] };
  /** `to` on the suppression list (for mail from the config's defaults.from, or everywhere): no provider would be called. */
  suppressed?: SuppressedRecipient;
  now: number;
  /** How a command named in the text is written (by default as the bare command). */
  suggest?: SuggestCommand;
}

/** One send-side rate limit of a provider and what is left of it now. */
export interface RateLimitExplanation {
  limit: string;
  count: number;
  windowMs: number;
  used: number;
  left: number;
  /** When the window starts again (ISO time). */
  resetsAt: string;
}

export interface ProviderExplanation {
  name: string;
  type: string;
  role: string;
  plan: string;
  pinned: boolean;
  /** False when its only price is the unpriced-infrastructure placeholder. */
  priced: boolean;
  monthToDate: number;
  /** null = no limit (flat-cost infrastructure). */
  included: number | null;
  includedLeft: number | null;
  /** US dollars, as a number; null when a hard cap forbids one more email. */
  marginalCost: number | null;
  marginalNote: string;
  freeTierLeft: number;
  health: string;
  circuit: CircuitState | 'unknown';
  /** When a provider marked down is probed again (ISO time); null when it is not down. */
  downUntil: string | null;
  /** providers.<n>.rateLimit, with what is left of each window now; empty without one. */
  rateLimits: RateLimitExplanation[];
  /** pricing.<name>.budget against this month's spend; null without a cap. */
  budget: BudgetExplanation | null;
}

export interface BudgetExplanation {
  /** US dollars a month. */
  monthly: number;
  action: BudgetAction;
  /** This month's spend so far (the cost model over the month-to-date count). */
  spent: number;
  /** The spend with one more email. */
  afterOneMore: number;
  /** One more email would pass the cap: the action applies now. */
  reached: boolean;
  /** What the cap does, in words. */
  effect: string;
}

/** One routing rule as checked for this message; `rule` counts from 1, as the text does. */
export interface RuleExplanation {
  rule: number;
  /** As the text shows it: "rule 3 (type: marketing, monthly volume below 1,000)". */
  label: string;
  name: string | null;
  when: RuleCondition;
  /** False for the rules after the one that matched: first match wins, they are never looked at. */
  evaluated: boolean;
  matched: boolean;
  reason: string;
}

export interface RouteExplanation {
  message: { type: MessageType; priority: Priority; to: string | null; idempotencyKey: string | null };
  monthlyVolume: number;
  monthlyVolumeSource: string;
  matchedRule: { rule: number; label: string } | null;
  source: string;
  rules: RuleExplanation[];
  chain: string[];
  /** The matched rule's weighted split: weights, shares in percent, and this message's pick (null without --idempotency-key). */
  split: SplitPick | null;
  notes: string[];
  providers: ProviderExplanation[];
  onError: Record<ErrorClass, string>;
  /** `to` is on the suppression list: a send to it is rejected before any provider of the chain. */
  suppressed: SuppressedRecipient | null;
}

/** Everything `route explain` shows, computed without I/O. `budgets`: the config's providers and pricing (caps). */
export function explainRoute(setup: CostSetup, failover: FailoverPolicy, typeOf: (name: string) => string, input: ExplainInput, budgets?: Parameters<typeof budgetVerdictFor>[0]): RouteExplanation {
  const fromFlag = input.monthlyVolume !== undefined;
  const monthlyVolume = input.monthlyVolume ?? Object.values(input.ledger).reduce((sum, n) => sum + n, 0);
  // With --monthly-volume there is no per-provider split: each provider is priced as if it carried it all.
  const usageOf = (provider: string) => (fromFlag ? monthlyVolume : (input.ledger[provider] ?? 0));
  const freeLeft = (provider: string) => Math.max(0, freeAllowance(setup.pricingOf(provider)) - usageOf(provider));

  const route = resolveRoute(setup.routing, {
    type: input.type,
    priority: input.priority,
    monthlyVolume,
    freeTierLeft: (p) => freeLeft(p) > 0,
    recipients: input.to ? [input.to] : undefined,
    splitKey: input.idempotencyKey,
  });
  const notes = [...route.notes];
  if (fromFlag) notes.push(`month-to-date per provider: each provider is priced as if it had carried all ${groupThousands(monthlyVolume)} emails`);

  const providers = route.chain.map((name, i): ProviderExplanation => {
    const pricing = setup.pricingOf(name);
    const monthToDate = usageOf(name);
    const margin = marginalCost(pricing, monthToDate);
    const record = input.health?.(name);
    return {
      name,
      type: typeOf(name),
      role: i === 0 ? 'primary' : i === route.chain.length - 1 ? 'final fallback' : 'fallback',
      plan: margin.current.plan,
      pinned: margin.current.pinned,
      priced: pricing.priced,
      monthToDate,
      included: Number.isFinite(margin.current.included) ? margin.current.included : null,
      includedLeft: Number.isFinite(margin.includedLeft) ? margin.includedLeft : null,
      marginalCost: margin.marginal === null ? null : nanosToDollars(margin.marginal),
      marginalNote: pricing.priced ? margin.explanation : `${margin.explanation} (infrastructure not priced: set pricing.${name}.monthly)`,
      freeTierLeft: freeLeft(name),
      health: input.health ? describeHealth(record, input.now) : 'no failures recorded (no outbox file yet)',
      circuit: input.health ? circuitState(record, input.now) : 'unknown',
      downUntil: record?.openUntil !== undefined && circuitState(record, input.now) === 'open' ? new Date(record.openUntil).toISOString() : null,
      rateLimits: explainRateLimits(input.rateLimits?.(name), input.now),
      budget: budgets ? explainBudget(budgets, setup, name, monthToDate) : null,
    };
  });

  const rules = explainRules(setup, route);
  const matched = rules.find((rule) => rule.matched);
  return {
    message: { type: input.type, priority: input.priority, to: input.to ?? null, idempotencyKey: input.idempotencyKey ?? null },
    monthlyVolume,
    monthlyVolumeSource: fromFlag ? '--monthly-volume' : input.ledgerSource,
    matchedRule: matched ? { rule: matched.rule, label: matched.label } : null,
    source: matched?.label ?? route.source,
    rules,
    chain: route.chain,
    split: route.split ?? null,
    notes,
    providers,
    onError: describeErrorPolicy(route.chain, failover, input.suggest),
    suppressed: input.suppressed ?? null,
  };
}

function explainRateLimits(rate: { limits: RateLimit[]; windows?: WindowState[] } | undefined, now: number): RateLimitExplanation[] {
  return (rate?.limits ?? []).map((limit, i) => {
    const window = rate?.windows?.[i] ?? { used: 0, resetsInMs: limit.windowMs - (now % limit.windowMs) };
    return { limit: limit.label, count: limit.count, windowMs: limit.windowMs, used: window.used, left: Math.max(0, limit.count - window.used), resetsAt: new Date(now + window.resetsInMs).toISOString() };
  });
}

/** "14/s (9 left this second); 50,000/d (0 left today: the next provider until 00:00 UTC)". */
function describeRateLimits(limits: RateLimitExplanation[]): string {
  return limits
    .map((l) => {
      const spent = l.left === 0 ? `: ${l.windowMs >= 86_400_000 ? 'quota reached, messages go to the next provider' : 'waiting for the next window'} until ${formatClockUtc(Date.parse(l.resetsAt), Date.parse(l.resetsAt))}` : '';
      return `${l.limit.replace(/^\d+/, (n) => groupThousands(Number(n)))} (${groupThousands(l.left)} left ${windowName(l.windowMs)}${spent})`;
    })
    .join('; ');
}

function explainBudget(budgets: Parameters<typeof budgetVerdictFor>[0], setup: CostSetup, name: string, monthToDate: number): BudgetExplanation | null {
  const verdict = budgetVerdictFor(budgets, setup, name, monthToDate, 1);
  if (!verdict) return null;
  const effect = verdict.over ? `cap reached: the next email would be ${BUDGET_ACTION_TEXT[verdict.cap.action]}` : `within budget; once reached, emails are ${BUDGET_ACTION_TEXT[verdict.cap.action]}`;
  return { monthly: verdict.cap.monthly, action: verdict.cap.action, spent: verdict.spent, afterOneMore: verdict.after, reached: verdict.over, effect };
}

/** The router's verdicts, numbered from 1, with the rules after the matching one marked as never evaluated. */
function explainRules(setup: CostSetup, route: Route): RuleExplanation[] {
  return route.verdicts.map((verdict) => {
    const evaluated = route.ruleIndex === null || verdict.index <= route.ruleIndex;
    const rule = setup.routing.rules[verdict.index];
    return {
      rule: verdict.index + 1,
      label: ruleTitle(verdict.index, rule),
      name: rule.name ?? null,
      when: rule.when,
      evaluated,
      matched: verdict.matched,
      reason: evaluated ? verdict.reason : `not evaluated: rule ${route.ruleIndex! + 1} matched first`,
    };
  });
}

/** A rule as route explain names it: always its number, then its name if it has one, then its conditions. */
function ruleTitle(index: number, rule: Rule): string {
  return `rule ${index + 1}${rule.name ? ` "${rule.name}"` : ''} (${describeConditions(rule.when)})`;
}

const RULE_MARK = { matched: '✓', failed: '✗', notEvaluated: '·' } as const;

/** What the failover engine does with each error class, for this chain and policy. */
export function describeErrorPolicy(chain: string[], failover: FailoverPolicy, suggest: SuggestCommand = (command) => command): Record<ErrorClass, string> {
  const { attempts, delayMs, maxRetryAfterMs } = failover.retry;
  const [first, second] = chain;
  const rest = chain.length > 1 ? `then ${chain.slice(1).join(', then ')} the same way; ` : '';
  const tries = attempts === 1 ? `one try on ${first}` : `${attempts} tries on ${first}, ${formatDuration(delayMs)} apart (a Retry-After up to ${formatDuration(maxRetryAfterMs)} is honoured, a longer one moves on at once)`;
  const next = `${rest}when every provider has failed, the message waits in the outbox for \`${suggest('queue retry')}\` (exit 4)`;
  const ambiguous = failover.resendAmbiguous
    ? `handled like a transient error because failover.resendAmbiguous is on (the message may be delivered twice)`
    : `not resent anywhere (the provider may have it): stored in the outbox marked ambiguous (exit 4); \`${suggest('queue retry --force <id>')}\` resends it`;
  return {
    transient: `connection refused, DNS, 5xx, 429: ${tries}; ${next}`,
    'provider-unusable': `bad credentials, unverified sender, suspended account: no retry, ${second ? `${second} at once` : 'the message waits in the outbox (exit 4)'}`,
    permanent: 'invalid or suppressed recipient, bad content: stop, exit 3, never another provider (a suppression list must not be routed round)',
    ambiguous: `timeout after the request was sent: ${ambiguous}`,
  };
}

export function formatExplanation(explanation: RouteExplanation, failover: FailoverPolicy): string {
  const { message } = explanation;
  const out: string[] = [
    `Route for a ${message.type} message, priority ${message.priority}${message.to ? `, to ${message.to}` : ''}${message.idempotencyKey ? `, idempotency key ${message.idempotencyKey}` : ''}`,
    `Monthly volume so far: ${groupThousands(explanation.monthlyVolume)} (${explanation.monthlyVolumeSource})`,
    '',
  ];
  if (explanation.rules.length) {
    out.push(`Rules (first match wins; ${RULE_MARK.matched} matched, ${RULE_MARK.failed} did not match, ${RULE_MARK.notEvaluated} not evaluated):`);
    for (const rule of explanation.rules) {
      const mark = !rule.evaluated ? RULE_MARK.notEvaluated : rule.matched ? RULE_MARK.matched : RULE_MARK.failed;
      out.push(`  ${mark} ${rule.label}: ${rule.reason}`);
    }
  } else out.push('No routing rules: the chain is failover.order.');
  out.push(`Chain: ${explanation.chain.join(' → ')}  (from ${explanation.source})`);
  if (explanation.suppressed) out.push(`Suppressed: ${suppressionText(explanation.suppressed)} — a send to it is rejected before any provider (exit 3)`);
  if (explanation.split) {
    const { shares, picked } = explanation.split;
    const weights = Object.entries(shares).map(([name, share]) => `${name} ${share}%${name === picked ? ' ← this message' : ''}`);
    out.push(`Split: ${weights.join(', ')}${picked ? '' : ' (give --idempotency-key to see which one a message gets)'}`);
  }
  for (const note of explanation.notes) out.push(`  note: ${note}`);

  out.push('', 'Providers:');
  explanation.providers.forEach((p, i) => {
    const marginal = p.marginalCost === null ? 'not possible' : formatNanos(dollars(p.marginalCost));
    out.push(
      `  ${i + 1}. ${p.name} (${p.type}, ${p.role})`,
      `     plan:            ${p.plan}${p.pinned ? ' (pinned)' : ''} — ${groupThousands(p.monthToDate)} sent this month, ${formatCount(p.included ?? Infinity)} included, ${formatCount(p.includedLeft ?? Infinity)} left`,
      `     one more email:  ${marginal} — ${p.marginalNote}`,
      `     free tier left:  ${p.freeTierLeft > 0 ? groupThousands(p.freeTierLeft) : 'none'}`,
      `     health:          ${p.health}`,
    );
    if (p.rateLimits.length) out.push(`     rate limit:      ${describeRateLimits(p.rateLimits)}`);
    if (p.budget) out.push(`     budget:          $${p.budget.spent.toFixed(2)} of $${p.budget.monthly.toFixed(2)} this month (action: ${p.budget.action}) — ${p.budget.effect}`);
  });

  out.push('', `If sending fails${failover.enabled ? '' : ' (failover disabled: only the first provider is tried)'}:`);
  for (const [errorClass, what] of Object.entries(explanation.onError)) out.push(`  ${errorClass}: ${what}`);
  out.push(`  a provider with ${failover.health.failureThreshold} failures in a row is skipped for ${formatDuration(failover.health.cooldownMs)}, then probed again`);
  return out.join('\n');
}

