/**
 * Which chain each kind of message really gets. Routing rules come before failover.order, so an
 * order that every rule shadows is used by no message; `failover show` and `failover configure`
 * say so. The router itself decides (resolveRoute); this file only asks it about every case that
 * can make a difference: each message type and priority, each range of monthly volume the rules
 * name, and each free-tier state of the providers the rules check.
 */
import { groupThousands } from '../cost/money.js';
import { sampleRecipient } from '../core/recipient-domain.js';
import { describeRule, resolveRoute, ruleLead, type Rule } from '../core/router.js';
import { splitShares } from '../core/split.js';
import { routingRuleSchema } from './schema.js';

export const MESSAGE_TYPES = ['transactional', 'marketing'] as const;
export const PRIORITIES = ['normal', 'critical'] as const;

type MessageTypeName = (typeof MESSAGE_TYPES)[number];
type PriorityName = (typeof PRIORITIES)[number];

export interface RouteOutcome {
  /** The rule that gives the chain, numbered from 1 as route explain numbers it; null = failover.order. */
  rule: number | null;
  /** `routing.rules[1]` or `failover.order`. */
  source: string;
  /** The rule as `route explain` names it, or `failover.order`. */
  label: string;
  /** The providers tried, in order (only the first when failover is off). */
  chain: string[];
  /** The rule's weighted split, when it has one: the chain then starts with each message's pick. */
  split?: Record<string, number>;
  /** `always`, or the condition under which this outcome applies (e.g. `monthly volume below 1000`). */
  when: string;
}

export interface EffectiveRoute {
  type: MessageTypeName;
  priority: PriorityName;
  /** One entry per chain this kind of message can get, in the order the router checks them. */
  outcomes: RouteOutcome[];
}

export interface RoutingSummary {
  /** The chain failover.order gives (only its first provider when failover is off). */
  orderChain: string[];
  routes: EffectiveRoute[];
  /** The kinds of message for which failover.order gives the chain (always, or under a condition). */
  failoverOrderUsedFor: { type: MessageTypeName; priority: PriorityName; when: string }[];
}

/** More providers checked for free tier than this: only "all unknown / all left / none left". */
const MAX_FREE_TIER_PROVIDERS = 6;

/** The rules of a parsed config file, or undefined when one of them is not valid (nothing to analyse). */
export function rulesFromRaw(raw: unknown): Rule[] | undefined {
  const routing = (raw as { routing?: { rules?: unknown } } | null)?.routing;
  const rules = routing?.rules ?? [];
  if (!Array.isArray(rules)) return undefined;
  const parsed = rules.map((rule) => routingRuleSchema.safeParse(rule));
  return parsed.every((result) => result.success) ? parsed.map((result) => result.data as Rule) : undefined;
}

function ruleLabel(rule: Rule, index: number): string {
  return rule.name ? `rule ${index + 1} "${rule.name}"` : describeRule(rule, index);
}

/** Monthly volumes where some rule's answer can change: the value 0 and every bound the rules name. */
function volumeBreakpoints(rules: Rule[]): number[] {
  const bounds = rules.flatMap((rule) => [rule.when.monthlyVolume?.below, rule.when.monthlyVolume?.atLeast]).filter((n): n is number => n !== undefined);
  return [...new Set([0, ...bounds])].sort((a, b) => a - b);
}

type FreeTierState = Record<string, boolean | undefined>;

/** Recipients to try: any other domain (undefined), and one at a domain of each recipient-domain rule. */
function recipientCases(rules: Rule[]): (string[] | undefined)[] {
  const samples = rules.flatMap((rule) => (rule.when.recipientDomain ? [[sampleRecipient(rule.when.recipientDomain[0])]] : []));
  return [undefined, ...samples];
}

/** Every combination of unknown / left / none left for the providers the rules check. */
function freeTierStates(rules: Rule[]): FreeTierState[] {
  const checked = [...new Set(rules.filter((rule) => rule.when.freeTierLeft !== undefined).map(ruleLead))];
  if (checked.length > MAX_FREE_TIER_PROVIDERS) {
    return [undefined, true, false].map((value) => Object.fromEntries(checked.map((name) => [name, value])));
  }
  return checked.reduce<FreeTierState[]>(
    (states, name) => states.flatMap((state) => [undefined, true, false].map((value) => ({ ...state, [name]: value }))),
    [{}],
  );
}

function describeVolumes(breakpoints: number[], used: boolean[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < used.length; i++) {
    if (!used[i] || used[i - 1]) continue;
    let end = i;
    while (used[end + 1]) end++;
    const from = breakpoints[i];
    const below = breakpoints[end + 1];
    if (below === undefined) ranges.push(`monthly volume ${groupThousands(from)} or more`);
    else if (from === 0) ranges.push(`monthly volume below ${groupThousands(below)}`);
    else ranges.push(`monthly volume from ${groupThousands(from)} to below ${groupThousands(below)}`);
  }
  return ranges.join(' or ');
}

/** The condition under which an outcome that wins in some states (free tier, recipients) applies. */
function describeState(rule: Rule | undefined, rules: Rule[]): string {
  if (rule?.when.recipientDomain) return `recipients at ${rule.when.recipientDomain.join(', ')}`;
  if (rule?.when.freeTierLeft === true) return `${ruleLead(rule)} has free tier left`;
  if (rule?.when.freeTierLeft === false) return `${ruleLead(rule)} has no free tier left`;
  const freeTier = rules.some((r) => r.when.freeTierLeft !== undefined);
  const domain = rules.some((r) => r.when.recipientDomain !== undefined);
  if (domain && !freeTier) return 'when no recipient-domain rule above matches';
  return domain ? 'when no free-tier or recipient-domain rule above matches' : 'when no free-tier rule above matches';
}

function routeFor(type: MessageTypeName, priority: PriorityName, rules: Rule[], order: string[], enabled: boolean): EffectiveRoute {
  const breakpoints = volumeBreakpoints(rules);
  const states = freeTierStates(rules).flatMap((freeTier) => recipientCases(rules).map((recipients) => ({ freeTier, recipients })));
  // For each outcome (rule index, or -1 for failover.order): per volume range, in how many free-tier states it wins.
  const wins = new Map<number, { chain: string[]; perVolume: number[] }>();
  breakpoints.forEach((monthlyVolume, v) => {
    for (const state of states) {
      const route = resolveRoute({ rules, defaultOrder: order, failoverEnabled: enabled }, { type, priority, monthlyVolume, freeTierLeft: (name) => state.freeTier[name], recipients: state.recipients });
      const key = route.ruleIndex ?? -1;
      const entry = wins.get(key) ?? { chain: route.chain, perVolume: breakpoints.map(() => 0) };
      entry.perVolume[v]++;
      wins.set(key, entry);
    }
  });
  const keys = [...wins.keys()].sort((a, b) => (a === -1 ? 1 : b === -1 ? -1 : a - b));
  const outcomes = keys.map((key): RouteOutcome => {
    const { chain, perVolume } = wins.get(key)!;
    const rule = key === -1 ? undefined : rules[key];
    const conditions: string[] = [];
    if (keys.length > 1) {
      const usedAt = perVolume.map((count) => count > 0);
      if (!usedAt.every(Boolean)) conditions.push(describeVolumes(breakpoints, usedAt));
      if (perVolume.some((count) => count > 0 && count < states.length)) conditions.push(describeState(rule, rules));
    }
    return {
      ...(rule?.split ? { split: rule.split } : {}),
      rule: rule ? key + 1 : null,
      source: rule ? `routing.rules[${key}]` : 'failover.order',
      label: rule ? ruleLabel(rule, key) : 'failover.order',
      chain,
      when: conditions.join(', ') || (keys.length > 1 ? 'when no rule matches' : 'always'),
    };
  });
  return { type, priority, outcomes };
}

/** The chain of every message type × priority under these rules and this failover order. */
export function summariseRouting(rules: Rule[], order: string[], enabled: boolean): RoutingSummary {
  const routes = MESSAGE_TYPES.flatMap((type) => PRIORITIES.map((priority) => routeFor(type, priority, rules, order, enabled)));
  const failoverOrderUsedFor = routes.flatMap((route) =>
    route.outcomes.filter((outcome) => outcome.rule === null).map((outcome) => ({ type: route.type, priority: route.priority, when: outcome.when })),
  );
  return { orderChain: enabled ? [...order] : order.slice(0, 1), routes, failoverOrderUsedFor };
}

/** True when failover.order is used by no message and some message gets another chain: editing the order changes nothing. */
export function orderIsShadowed(summary: RoutingSummary): boolean {
  const sameAsOrder = (chain: string[]) => chain.join('\n') === summary.orderChain.join('\n');
  return summary.failoverOrderUsedFor.length === 0 && summary.routes.some((route) => route.outcomes.some((outcome) => !sameAsOrder(outcome.chain)));
}

/**
 * The summary as aligned lines, one per outcome:
 * `transactional/normal    postmark → mailgun → smtp   rule 2 (type: transactional)`.
 */
export function routingLines(summary: RoutingSummary, style: { chain?: (text: string) => string; dim?: (text: string) => string } = {}): string[] {
  const paintChain = style.chain ?? ((text: string) => text);
  const dim = style.dim ?? ((text: string) => text);
  const kindWidth = Math.max(...summary.routes.map((route) => `${route.type}/${route.priority}`.length));
  // A split shows its members and shares first: "{mailgun 90%, ses 10%} → smtp".
  const chainText = ({ chain, split }: RouteOutcome) => {
    if (!split) return chain.join(' → ') || '(no providers)';
    const shares = Object.entries(splitShares(split)).map(([name, share]) => `${name} ${share}%`);
    return [`{${shares.join(', ')}}`, ...chain.filter((name) => !(name in split))].join(' → ');
  };
  const chainWidth = Math.max(...summary.routes.flatMap((route) => route.outcomes.map((outcome) => chainText(outcome).length)));
  return summary.routes.flatMap((route) =>
    route.outcomes.map((outcome, i) => {
      const kind = (i === 0 ? `${route.type}/${route.priority}` : '').padEnd(kindWidth);
      const chain = chainText(outcome);
      // A conditional outcome names its rule briefly: the condition that follows says the rest.
      const why = outcome.when === 'always' ? outcome.label : `${outcome.rule === null ? outcome.label : shortRuleLabel(outcome)}: ${outcome.when}`;
      return `${kind}  ${paintChain(chain)}${' '.repeat(chainWidth - chain.length)}  ${dim(why)}`;
    }),
  );
}

function shortRuleLabel(outcome: RouteOutcome): string {
  const name = /^rule \d+ "/.test(outcome.label) ? outcome.label : undefined;
  return name ?? `rule ${outcome.rule!}`;
}

/** One sentence on where failover.order is used. */
export function failoverOrderUsage(summary: RoutingSummary): string {
  const used = summary.failoverOrderUsedFor;
  if (used.length === 0 && !orderIsShadowed(summary)) return 'failover.order is used by no message, but every rule gives the same chain';
  if (used.length === 0) return 'failover.order is used by no message: a routing rule gives every message type and priority its chain';
  if (used.length === summary.routes.length && used.every((entry) => entry.when === 'always')) return 'failover.order is used for every message';
  return `failover.order is used for ${used.map((entry) => `${entry.type}/${entry.priority}${entry.when === 'always' ? '' : ` (${entry.when})`}`).join(', ')}`;
}

/**
 * What a disabled failover leaves: the first provider of failover.order, or, where routing rules
 * give chains of their own, the first of each message's chain.
 */
export function onlyFirstTried(order: readonly string[], rulesGiveChains: boolean): string {
  const first = order[0] ?? 'the first provider';
  return rulesGiveChains ? `only the first provider of each message's chain is tried (${first} where no routing rule matches)` : `only ${first} is tried`;
}
