import { describe, expect, it } from 'vitest';
import { configErrorOf, SAMPLE_PROVIDERS } from '../helpers/config-errors.js';
import { summariseRouting } from '../../src/config/effective-routes.js';
import { validateConfig } from '../../src/config/validate.js';
import { applyBudgets, budgetVerdict, capsReached, type BudgetCap } from '../../src/core/budget.js';
import { domainOf, recipientDomainMismatch } from '../../src/core/recipient-domain.js';
import { resolveRoute, type RoutingPolicy } from '../../src/core/router.js';
import { pickFromSplit, splitChain, splitShares } from '../../src/core/split.js';
import { budgetVerdictFor } from '../../src/cost/budget.js';
import { buildCostSetup, costOfStrategy } from '../../src/cost/model.js';

const providers = SAMPLE_PROVIDERS;
const errorOf = configErrorOf;

describe('weighted split', () => {
  it('spreads 1,000 keys within a few percent of the weights', () => {
    const weights = { mailgun: 90, smtp: 10 };
    const counts: Record<string, number> = { mailgun: 0, smtp: 0 };
    for (let i = 0; i < 1000; i++) counts[pickFromSplit(weights, `order-${i}`)]++;
    expect(counts.mailgun).toBeGreaterThan(870);
    expect(counts.mailgun).toBeLessThan(930);
    const three = { a: 1, b: 1, c: 2 };
    const spread: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 1000; i++) spread[pickFromSplit(three, `k${i}`)]++;
    expect(spread.a).toBeGreaterThan(210);
    expect(spread.a).toBeLessThan(290);
    expect(spread.c).toBeGreaterThan(460);
    expect(spread.c).toBeLessThan(540);
  });

  it('a key always gets the same member, whatever the order the weights are listed in', () => {
    const picks = Array.from({ length: 50 }, (_, i) => pickFromSplit({ mailgun: 50, smtp: 50 }, `msg-${i}`));
    expect(Array.from({ length: 50 }, (_, i) => pickFromSplit({ smtp: 50, mailgun: 50 }, `msg-${i}`))).toEqual(picks);
    expect(new Set(picks)).toEqual(new Set(['mailgun', 'smtp']));
  });

  it('chain: the pick, then use, then the other members heaviest first; shares in percent', () => {
    expect(splitChain({ mailgun: 90, smtp: 10, postmark: 30 }, ['postmark'], 'smtp')).toEqual(['smtp', 'postmark', 'mailgun']);
    expect(splitChain({ mailgun: 90, smtp: 10 }, [], undefined)).toEqual(['mailgun', 'smtp']);
    expect(splitChain({ mailgun: 90, smtp: 10 }, ['postmark'], undefined)).toEqual(['mailgun', 'postmark', 'smtp']);
    expect(splitShares({ mailgun: 2, smtp: 1 })).toEqual({ mailgun: 66.7, smtp: 33.3 });
  });

  it('the router picks by the message key and says so', () => {
    const policy: RoutingPolicy = { rules: [{ when: {}, use: ['postmark'], split: { mailgun: 50, smtp: 50 } }], defaultOrder: ['postmark'], failoverEnabled: true };
    const input = { type: 'transactional' as const, priority: 'normal' as const, monthlyVolume: 0 };
    const route = resolveRoute(policy, { ...input, splitKey: 'abc' });
    const picked = pickFromSplit({ mailgun: 50, smtp: 50 }, 'abc');
    expect(route.chain).toEqual([picked, 'postmark', picked === 'mailgun' ? 'smtp' : 'mailgun']);
    expect(route.split).toMatchObject({ picked, key: 'abc', shares: { mailgun: 50, smtp: 50 } });
    const unknown = resolveRoute(policy, input);
    expect(unknown.split?.picked).toBeNull();
    expect(unknown.notes.join()).toContain('idempotency key');
  });
});

describe('recipient-domain conditions', () => {
  const patterns = ['outlook.com', 'Hotmail.com', '*.live.com'];
  it('exact domains, case-insensitive; *. for subdomains only', () => {
    expect(domainOf('Ada <ada@HOTMAIL.com>')).toBe('hotmail.com');
    expect(recipientDomainMismatch(['ADA@Outlook.COM'], patterns)).toBeUndefined();
    expect(recipientDomainMismatch(['a@mail.live.com'], patterns)).toBeUndefined();
    expect(recipientDomainMismatch(['a@live.com'], patterns)).toContain('is not at');
    expect(recipientDomainMismatch(['a@notoutlook.com'], patterns)).toContain('is not at');
  });
  it('a message matches only when every recipient is at a listed domain', () => {
    expect(recipientDomainMismatch(['a@outlook.com', 'b@hotmail.com'], patterns)).toBeUndefined();
    expect(recipientDomainMismatch(['a@outlook.com', 'b@gmail.com'], patterns)).toBe('recipient b@gmail.com is not at outlook.com, Hotmail.com, *.live.com (every recipient must be)');
    expect(recipientDomainMismatch(undefined, patterns)).toContain('recipients unknown');
  });
  it('routes and shows up in the effective routes', () => {
    const rules = [{ when: { recipientDomain: ['hotmail.com'] }, use: ['smtp'] }];
    const policy: RoutingPolicy = { rules, defaultOrder: ['postmark'], failoverEnabled: true };
    const base = { type: 'transactional' as const, priority: 'normal' as const, monthlyVolume: 0 };
    expect(resolveRoute(policy, { ...base, recipients: ['x@hotmail.com'] }).chain).toEqual(['smtp']);
    expect(resolveRoute(policy, { ...base, recipients: ['x@gmail.com'] }).chain).toEqual(['postmark']);
    const summary = summariseRouting(rules, ['postmark'], true);
    expect(summary.routes[0].outcomes.map((o) => `${o.chain.join('>')} ${o.when}`)).toEqual(['smtp recipients at hotmail.com', 'postmark when no recipient-domain rule above matches']);
  });
});

describe('budget caps', () => {
  const cap = (action: BudgetCap['action']): BudgetCap => ({ monthly: 2.5, action });
  const verdicts = (action: BudgetCap['action']) => (p: string) => (p === 'mailgun' ? budgetVerdict({ provider: 'mailgun', cap: cap(action), spent: 2, after: 3 }) : undefined);
  it('over the cap only when the next emails would pass it', () => {
    expect(budgetVerdict({ provider: 'p', cap: cap('warn'), spent: 2, after: 2.5 }).over).toBe(false);
    expect(budgetVerdict({ provider: 'p', cap: cap('warn'), spent: 2, after: 3 })).toMatchObject({ over: true, text: expect.stringContaining('over its budget of $2.50 (pricing.p.budget)') });
  });
  it('failover skips, queue holds the chain there, warn keeps', () => {
    expect(applyBudgets(['mailgun', 'smtp'], verdicts('failover'))).toMatchObject({ chain: ['smtp'], skipped: [{ provider: 'mailgun' }] });
    expect(applyBudgets(['postmark', 'mailgun', 'smtp'], verdicts('queue'))).toMatchObject({ chain: ['postmark'], heldAt: { provider: 'mailgun' } });
    const warned = applyBudgets(['mailgun', 'smtp'], verdicts('warn'));
    expect(warned.chain).toEqual(['mailgun', 'smtp']);
    expect(capsReached(warned).map((v) => v.provider)).toEqual(['mailgun']);
    expect(applyBudgets(['smtp'], verdicts('queue'))).toMatchObject({ chain: ['smtp'], skipped: [], warned: [] });
  });
  it('spend is the cost model over the ledger count (pricing.<type> caps each provider of the type)', () => {
    const config = validateConfig(
      { providers, pricing: { mailgun: { plans: [{ name: 'payg', monthly: 0, included: 0, overagePer1k: 1000 }], budget: { monthly: 2.5, action: 'failover' } } } },
      { baseDir: '/tmp' },
    );
    const setup = buildCostSetup(config);
    expect(budgetVerdictFor(config, setup, 'mailgun', 2, 1)).toMatchObject({ spent: 2, after: 3, over: true });
    expect(budgetVerdictFor(config, setup, 'mailgun', 1, 1)).toMatchObject({ spent: 1, after: 2, over: false });
    expect(budgetVerdictFor(config, setup, 'smtp', 1000, 1)).toBeUndefined();
    const all = costOfStrategy(setup, 'mailgun', { transactional: 3, marketing: 0 });
    expect(all.budgetBreaches).toEqual([{ provider: 'mailgun', cost: 3, monthly: 2.5, action: 'failover' }]);
  });
});

describe('config errors name the path', () => {
  it('split weights and providers', () => {
    expect(errorOf({ providers, routing: { rules: [{ split: { mailgun: 0, smtp: 10 } }] } })).toContain('routing.rules[0].split.mailgun: a weight is a positive number');
    expect(errorOf({ providers, routing: { rules: [{ split: { mailgun: 'lots' } }] } })).toContain('routing.rules[0].split.mailgun');
    // Weights whose total overflows would make every share NaN.
    expect(errorOf({ providers, routing: { rules: [{ split: { mailgun: 1e308, smtp: 1e308 } }] } })).toContain('routing.rules[0].split.mailgun: at most 1,000,000');
    expect(errorOf({ providers, routing: { rules: [{ split: { mailgn: 90, smtp: 10 } }] } })).toContain('routing.rules[0].split.mailgn: unknown provider "mailgn"');
    expect(errorOf({ providers, routing: { rules: [{ when: { type: 'marketing' } }] } })).toContain('routing.rules[0].use: give the provider chain (use), or a weighted split');
    expect(errorOf({ providers, routing: { rules: [{ split: { mailgun: 90, smtp: 10 }, use: ['postmark'] }] } })).toBe('');
  });
  it('recipient domains', () => {
    expect(errorOf({ providers, routing: { rules: [{ when: { recipientDomain: ['outlook'] }, use: ['smtp'] }] } })).toContain('routing.rules[0].when.recipientDomain[0]: a domain like outlook.com');
    expect(errorOf({ providers, routing: { rules: [{ when: { recipientDomain: [] }, use: ['smtp'] }] } })).toContain('routing.rules[0].when.recipientDomain');
    expect(errorOf({ providers, routing: { rules: [{ when: { recipientDomain: ['*.live.com', 'Outlook.com'] }, use: ['smtp'] }] } })).toBe('');
  });
  it('budgets', () => {
    expect(errorOf({ providers, pricing: { mailgun: { budget: { monthly: -5, action: 'warn' } } } })).toContain('pricing.mailgun.budget.monthly: a budget is a positive amount');
    expect(errorOf({ providers, pricing: { mailgun: { budget: { monthly: 1e308, action: 'warn' } } } })).toContain('pricing.mailgun.budget.monthly: at most 1,000,000,000');
    expect(errorOf({ providers, pricing: { mailgun: { budget: { monthly: 5, action: 'stop' } } } })).toContain('pricing.mailgun.budget.action');
    expect(errorOf({ providers, pricing: { mailgun: { budget: { monthly: 5 } } } })).toContain('pricing.mailgun.budget.action');
  });
});
