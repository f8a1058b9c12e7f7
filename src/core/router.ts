import type { MessageType, Priority } from './message.js';

export interface RuleCondition {
  type?: MessageType;
  priority?: Priority;
  monthlyVolume?: { below?: number; atLeast?: number };
  freeTierLeft?: boolean;
}

export interface Rule {
  name?: string;
  when: RuleCondition;
  use: string[];
}

export interface RouteInput {
  type: MessageType;
  priority: Priority;
  /** Emails sent this month so far, all providers together (usage ledger or --monthly-volume). */
  monthlyVolume: number;
  /** Whether a provider still has free-tier emails this month; undefined = unknown. */
  freeTierLeft?: (provider: string) => boolean | undefined;
}

export interface RoutingPolicy {
  rules: Rule[];
  /** failover.order: the chain when no rule matches. */
  defaultOrder: string[];
  failoverEnabled: boolean;
}

export interface RuleVerdict {
  index: number;
  label: string;
  matched: boolean;
  /** Why it matched, or the first condition that did not hold. */
  reason: string;
}

export interface Route {
  chain: string[];
  /** Index of the rule that gave the chain; null = failover.order. */
  ruleIndex: number | null;
  source: string;
  verdicts: RuleVerdict[];
  notes: string[];
}

export function describeRule(rule: Rule, index: number): string {
  return rule.name ?? `rule ${index + 1} (${describeConditions(rule.when)})`;
}

/** A rule's conditions as people read them: "type: marketing, monthly volume below 1,000". */
export function describeConditions(when: RuleCondition): string {
  const parts: string[] = [];
  if (when.type) parts.push(`type: ${when.type}`);
  if (when.priority) parts.push(`priority: ${when.priority}`);
  if (when.monthlyVolume) parts.push(`monthly volume ${describeBounds(when.monthlyVolume)}`);
  if (when.freeTierLeft !== undefined) parts.push(when.freeTierLeft ? 'free tier left' : 'no free tier left');
  return parts.join(', ') || 'always';
}

/** "at least 1,000 and below 5,000". */
function describeBounds({ below, atLeast }: NonNullable<RuleCondition['monthlyVolume']>): string {
  const bounds = [atLeast !== undefined ? `at least ${grouped(atLeast)}` : '', below !== undefined ? `below ${grouped(below)}` : ''].filter(Boolean);
  return bounds.join(' and ') || 'any';
}

/** 20000 → "20,000" (route reasons are read by people). */
function grouped(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Checks one rule; returns the reason it fails, or undefined when it matches. */
function firstMismatch(rule: Rule, input: RouteInput): string | undefined {
  const { when } = rule;
  if (when.type && when.type !== input.type) return `type is ${input.type}, rule wants ${when.type}`;
  if (when.priority && when.priority !== input.priority) return `priority is ${input.priority}, rule wants ${when.priority}`;
  if (when.monthlyVolume) {
    const { below, atLeast } = when.monthlyVolume;
    if (below !== undefined && !(input.monthlyVolume < below)) return `monthly volume ${grouped(input.monthlyVolume)} is not below ${grouped(below)}`;
    if (atLeast !== undefined && !(input.monthlyVolume >= atLeast)) return `monthly volume ${grouped(input.monthlyVolume)} is below ${grouped(atLeast)}`;
  }
  if (when.freeTierLeft !== undefined) {
    const left = input.freeTierLeft?.(rule.use[0]);
    if (left === undefined) return `free tier of ${rule.use[0]} unknown`;
    if (left !== when.freeTierLeft) return when.freeTierLeft ? `${rule.use[0]} has no free tier left` : `${rule.use[0]} still has free tier left`;
  }
  return undefined;
}

function matchReason(rule: Rule, input: RouteInput): string {
  const reasons: string[] = [];
  if (rule.when.type) reasons.push(`type is ${input.type}`);
  if (rule.when.priority) reasons.push(`priority is ${input.priority}`);
  if (rule.when.monthlyVolume) reasons.push(`monthly volume ${grouped(input.monthlyVolume)} is ${describeBounds(rule.when.monthlyVolume)}`);
  if (rule.when.freeTierLeft !== undefined) reasons.push(rule.when.freeTierLeft ? `${rule.use[0]} has free tier left` : `${rule.use[0]} has no free tier left`);
  return reasons.join(', ') || 'the rule has no conditions';
}

/**
 * Picks the provider chain for a message: the first matching rule's `use`, else failover.order.
 * `forceProvider` puts that provider first; failover off keeps only the first provider.
 */
export function resolveRoute(policy: RoutingPolicy, input: RouteInput, options: { forceProvider?: string; noFailover?: boolean } = {}): Route {
  const verdicts: RuleVerdict[] = [];
  let chosen: { chain: string[]; index: number | null; source: string } | undefined;
  policy.rules.forEach((rule, index) => {
    const label = describeRule(rule, index);
    if (chosen) {
      verdicts.push({ index, label, matched: false, reason: 'not checked: an earlier rule matched' });
      return;
    }
    const mismatch = firstMismatch(rule, input);
    if (mismatch) verdicts.push({ index, label, matched: false, reason: mismatch });
    else {
      verdicts.push({ index, label, matched: true, reason: matchReason(rule, input) });
      chosen = { chain: [...rule.use], index, source: label };
    }
  });
  const notes: string[] = [];
  let chain = chosen?.chain ?? [...policy.defaultOrder];
  const source = chosen?.source ?? (policy.rules.length ? 'failover.order (no rule matched)' : 'failover.order (no routing rules)');
  if (options.forceProvider) {
    chain = [options.forceProvider, ...chain.filter((name) => name !== options.forceProvider)];
    notes.push(`${options.forceProvider} forced first by --provider`);
  }
  if (!policy.failoverEnabled || options.noFailover) {
    if (chain.length > 1) notes.push(`failover ${options.noFailover ? 'off (--no-failover)' : 'disabled in config'}: only ${chain[0]} is tried`);
    chain = chain.slice(0, 1);
  }
  return { chain, ruleIndex: chosen?.index ?? null, source, verdicts, notes };
}
