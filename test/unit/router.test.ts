import { describe, expect, it } from 'vitest';
import { resolveRoute, rowsCanRouteApart, type Rule, type RoutingPolicy } from '../../src/core/router.js';

const policy: RoutingPolicy = {
  defaultOrder: ['postmark', 'mailgun', 'smtp'],
  failoverEnabled: true,
  rules: [
    { when: { priority: 'critical' }, use: ['postmark', 'mailgun', 'smtp'] },
    { when: { type: 'transactional' }, use: ['postmark', 'mailgun', 'smtp'] },
    { when: { type: 'marketing', monthlyVolume: { below: 1000 } }, use: ['smtp', 'mailgun'] },
    { when: { type: 'marketing' }, use: ['mailgun', 'smtp'] },
  ],
};

describe('resolveRoute', () => {
  it('first matching rule wins and the others say why not', () => {
    const route = resolveRoute(policy, { type: 'marketing', priority: 'normal', monthlyVolume: 20_000 });
    expect(route.chain).toEqual(['mailgun', 'smtp']);
    expect(route.ruleIndex).toBe(3);
    expect(route.verdicts.map((v) => v.reason)).toEqual([
      'priority is normal, rule wants critical',
      'type is marketing, rule wants transactional',
      'monthly volume 20,000 is not below 1,000',
      'type is marketing',
    ]);
  });

  it('volume tiers and priority', () => {
    expect(resolveRoute(policy, { type: 'marketing', priority: 'normal', monthlyVolume: 999 }).chain).toEqual(['smtp', 'mailgun']);
    expect(resolveRoute(policy, { type: 'marketing', priority: 'critical', monthlyVolume: 999 }).ruleIndex).toBe(0);
  });

  it('falls back to failover.order, honours --provider and failover off', () => {
    const none = resolveRoute({ ...policy, rules: [] }, { type: 'marketing', priority: 'normal', monthlyVolume: 0 });
    expect(none).toMatchObject({ chain: ['postmark', 'mailgun', 'smtp'], ruleIndex: null });
    expect(resolveRoute(policy, { type: 'transactional', priority: 'normal', monthlyVolume: 0 }, { forceProvider: 'smtp' }).chain).toEqual(['smtp', 'postmark', 'mailgun']);
    expect(resolveRoute({ ...policy, failoverEnabled: false }, { type: 'transactional', priority: 'normal', monthlyVolume: 0 }).chain).toEqual(['postmark']);
    expect(resolveRoute(policy, { type: 'transactional', priority: 'normal', monthlyVolume: 0 }, { noFailover: true }).chain).toEqual(['postmark']);
  });

  it('freeTierLeft conditions ask about the chain head', () => {
    const freeFirst: RoutingPolicy = { ...policy, rules: [{ when: { freeTierLeft: true }, use: ['postmark'] }, ...policy.rules] };
    expect(resolveRoute(freeFirst, { type: 'marketing', priority: 'normal', monthlyVolume: 0, freeTierLeft: () => true }).chain).toEqual(['postmark']);
    const used = resolveRoute(freeFirst, { type: 'marketing', priority: 'normal', monthlyVolume: 0, freeTierLeft: () => false });
    expect(used.verdicts[0].reason).toBe('postmark has no free tier left');
  });
});

describe('rowsCanRouteApart (whether a bulk send routes each row on its own)', () => {
  const marketing = { type: 'marketing', priority: 'normal' } as const;
  const split: Rule = { when: { type: 'marketing' }, use: [], split: { postmark: 50, mailgun: 50 } };
  const byDomain: Rule = { when: { recipientDomain: ['example.org'] }, use: ['smtp'] };

  it('is false with no rule that splits or looks at recipients', () => {
    expect(rowsCanRouteApart(policy.rules, marketing)).toBe(false);
    expect(rowsCanRouteApart([], marketing)).toBe(false);
  });

  it('is true when a split or a recipient-domain rule can match the message', () => {
    expect(rowsCanRouteApart([split], marketing)).toBe(true);
    expect(rowsCanRouteApart([byDomain], marketing)).toBe(true);
    // After rules that may or may not match the whole run (volume, free tier), still reachable.
    expect(rowsCanRouteApart([policy.rules[2], split], marketing)).toBe(true);
  });

  it('is false when such rules are for another type or priority, or come after a rule that matches every row', () => {
    expect(rowsCanRouteApart([split], { type: 'transactional', priority: 'normal' })).toBe(false);
    expect(rowsCanRouteApart([{ ...byDomain, when: { ...byDomain.when, priority: 'critical' } }], marketing)).toBe(false);
    expect(rowsCanRouteApart([policy.rules[3], split, byDomain], marketing)).toBe(false);
    expect(rowsCanRouteApart([policy.rules[3], { ...split, when: {} }], { type: 'transactional', priority: 'normal' })).toBe(true);
  });
});
