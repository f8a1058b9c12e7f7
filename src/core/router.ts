import type { MessageType, Priority } from './message.js';
import { recipientDomainMismatch } from './recipient-domain.js';
import { pickFromSplit, splitChain, splitShares, byWeight, type SplitWeights } from './split.js';

export interface RuleCondition {
  type?: MessageType;
  priority?: Priority;
  monthlyVolume?: { below?: number; atLeast?: number };
  freeTierLeft?: boolean;
  /** Every recipient's domain is one of these (see recipient-domain.ts). */
  recipientDomain?: string[];
}

export interface Rule {
  name?: string;
  when: RuleCondition;
  /** The chain; with `split`, the fallbacks tried after the split's pick (may then be empty). */
  use: string[];
  /** Weighted split: each message goes first to one member, picked by its idempotency key (split.ts). */
  split?: SplitWeights;
}

export interface RouteInput {
  type: MessageType;
  priority: Priority;
  /** Emails sent this month so far, all providers together (usage ledger or --monthly-volume). */
  monthlyVolume: number;
  /** Whether a provider still has free-tier emails this month; undefined = unknown. */
  freeTierLeft?: (provider: string) => boolean | undefined;
  /** Every recipient (To, Cc, Bcc); undefined = unknown (a recipient-domain rule then does not match). */
  recipients?: readonly string[];
  /** The message's idempotency key: decides a split's pick; undefined = not known yet. */
  splitKey?: string;
}

/** A split rule's weights and what this message got. */
export interface SplitPick {
  weights: SplitWeights;
  /** Percent of messages each member gets. */
  shares: Record<string, number>;
  /** null when no idempotency key was given (the chain then starts with the heaviest member). */
  picked: string | null;
  key: string | null;
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
  /** The matched rule splits by weight: its weights and this message's pick. */
  split?: SplitPick;
}

/** The provider a rule's free-tier condition looks at: its chain's first (a split's heaviest member). */
export function ruleLead(rule: Rule): string {
  return rule.split ? byWeight(rule.split)[0] : rule.use[0];
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
  if (when.recipientDomain) parts.push(`recipients at ${when.recipientDomain.join(', ')}`);
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
    const lead = ruleLead(rule);
    const left = input.freeTierLeft?.(lead);
    if (left === undefined) return `free tier of ${lead} unknown`;
    if (left !== when.freeTierLeft) return when.freeTierLeft ? `${lead} has no free tier left` : `${lead} still has free tier left`;
  }
  if (when.recipientDomain) return recipientDomainMismatch(input.recipients, when.recipientDomain);
  return undefined;
}

function matchReason(rule: Rule, input: RouteInput): string {
  const reasons: string[] = [];
  if (rule.when.type) reasons.push(`type is ${input.type}`);
  if (rule.when.priority) reasons.push(`priority is ${input.priority}`);
  if (rule.when.monthlyVolume) reasons.push(`monthly volume ${grouped(input.monthlyVolume)} is ${describeBounds(rule.when.monthlyVolume)}`);
  if (rule.when.freeTierLeft !== undefined) reasons.push(rule.when.freeTierLeft ? `${ruleLead(rule)} has free tier left` : `${ruleLead(rule)} has no free tier left`);
  if (rule.when.recipientDomain) reasons.push(`every recipient is at ${rule.when.recipientDomain.join(', ')}`);
  return reasons.join(', ') || 'the rule has no conditions';
}

/**
 * Whether the rows of a bulk message of this type and priority can get different chains: a rule
 * that can match them splits by each row's key or looks at each row's recipient, and comes before
 * any rule that surely matches them all (one with no other condition than type and priority).
 * Volume and free-tier conditions do not tell rows apart: a run reads the usage ledger once.
 */
export function rowsCanRouteApart(rules: readonly Rule[], message: { type: MessageType; priority: Priority }): boolean {
  for (const rule of rules) {
    const { when } = rule;
    if ((when.type && when.type !== message.type) || (when.priority && when.priority !== message.priority)) continue;
    if (rule.split !== undefined || when.recipientDomain !== undefined) return true;
    if (when.monthlyVolume === undefined && when.freeTierLeft === undefined) return false;
  }
  return false;
}

/**
 * Picks the provider chain for a message: the first matching rule's `use`, else failover.order.
 * `forceProvider` puts that provider first; failover off keeps only the first provider.
 */
export function resolveRoute(policy: RoutingPolicy, input: RouteInput, options: { forceProvider?: string; noFailover?: boolean } = {}): Route {
  const verdicts: RuleVerdict[] = [];
  let chosen: { chain: string[]; index: number | null; source: string; split?: SplitPick } | undefined;
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
      chosen = rule.split ? { ...splitRoute(rule.split, rule.use, input.splitKey), index, source: label } : { chain: [...rule.use], index, source: label };
    }
  });
  const notes: string[] = [];
  if (chosen?.split && chosen.split.picked === null) notes.push('the split picks by the message\'s idempotency key: none given, so the heaviest member is shown first');
  let chain = chosen?.chain ?? [...policy.defaultOrder];
  const source = chosen?.source ?? (policy.rules.length ? 'failover.order (no rule matched)' : 'failover.order (no routing rules)');
  if (options.forceProvider) {
    chain = [options.forceProvider, ...chain.filter((name) => name !== options.forceProvider)];
    notes.push(`${options.forceProvider} forced first: the send names it as its provider (--provider, or "provider" in the body)`);
  }
  if (!policy.failoverEnabled || options.noFailover) {
    if (chain.length > 1) notes.push(`failover ${options.noFailover ? 'off (--no-failover)' : 'disabled in config'}: only ${chain[0]} is tried`);
    chain = chain.slice(0, 1);
  }
  return { chain, ruleIndex: chosen?.index ?? null, source, verdicts, notes, ...(chosen?.split ? { split: chosen.split } : {}) };
}

function splitRoute(weights: SplitWeights, fallbacks: string[], key: string | undefined): { chain: string[]; split: SplitPick } {
  const picked = key === undefined ? undefined : pickFromSplit(weights, key);
  return { chain: splitChain(weights, fallbacks, picked), split: { weights: { ...weights }, shares: splitShares(weights), picked: picked ?? null, key: key ?? null } };
}
