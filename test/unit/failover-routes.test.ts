import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { failoverOrderUsage, orderIsShadowed, routingLines, rulesFromRaw, summariseRouting } from '../../src/config/effective-routes.js';
import type { Rule } from '../../src/core/router.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLE_RULES = rulesFromRaw(parse(readFileSync(path.join(ROOT, 'penguinmails.config.example.yaml'), 'utf8')))!;
const ORDER = ['mailgun', 'postmark', 'smtp'];

const outcomesOf = (rules: Rule[], order = ORDER, enabled = true) =>
  Object.fromEntries(summariseRouting(rules, order, enabled).routes.map((route) => [`${route.type}/${route.priority}`, route.outcomes.map((o) => `${o.source} ${o.chain.join('>')} (${o.when})`)]));

describe('the chain each kind of message gets', () => {
  it('with the example rules, every type and priority is routed by a rule: failover.order is shadowed', () => {
    expect(outcomesOf(EXAMPLE_RULES)).toEqual({
      'transactional/normal': ['routing.rules[1] postmark>mailgun>smtp (always)'],
      'transactional/critical': ['routing.rules[0] postmark>mailgun>smtp (always)'],
      'marketing/normal': ['routing.rules[2] smtp>mailgun (monthly volume below 1,000)', 'routing.rules[3] mailgun>smtp (monthly volume 1,000 or more)'],
      'marketing/critical': ['routing.rules[0] postmark>mailgun>smtp (always)'],
    });
    const summary = summariseRouting(EXAMPLE_RULES, ORDER, true);
    expect(summary.failoverOrderUsedFor).toEqual([]);
    expect(orderIsShadowed(summary)).toBe(true);
    expect(failoverOrderUsage(summary)).toBe('failover.order is used by no message: a routing rule gives every message type and priority its chain');
  });

  it('says under which monthly volumes failover.order is reached between two volume rules', () => {
    const rules: Rule[] = [
      { when: { type: 'marketing', monthlyVolume: { below: 1000 } }, use: ['smtp'] },
      { when: { type: 'marketing', monthlyVolume: { atLeast: 50_000 } }, use: ['mailgun'] },
    ];
    expect(outcomesOf(rules)['marketing/normal']).toEqual([
      'routing.rules[0] smtp (monthly volume below 1,000)',
      'routing.rules[1] mailgun (monthly volume 50,000 or more)',
      'failover.order mailgun>postmark>smtp (monthly volume from 1,000 to below 50,000)',
    ]);
    const summary = summariseRouting(rules, ORDER, true);
    expect(summary.failoverOrderUsedFor).toEqual([
      { type: 'transactional', priority: 'normal', when: 'always' },
      { type: 'transactional', priority: 'critical', when: 'always' },
      { type: 'marketing', priority: 'normal', when: 'monthly volume from 1,000 to below 50,000' },
      { type: 'marketing', priority: 'critical', when: 'monthly volume from 1,000 to below 50,000' },
    ]);
    expect(orderIsShadowed(summary)).toBe(false);
  });

  it('two volume rules that cover every volume leave nothing to failover.order', () => {
    const rules: Rule[] = [
      { when: { monthlyVolume: { below: 1000 } }, use: ['smtp'] },
      { when: { monthlyVolume: { atLeast: 1000 } }, use: ['postmark'] },
    ];
    expect(summariseRouting(rules, ORDER, true).failoverOrderUsedFor).toEqual([]);
  });

  it('a free-tier rule wins only while its provider has free tier left; unknown counts as not matching, as in the router', () => {
    const rules: Rule[] = [{ name: 'free first', when: { type: 'transactional', freeTierLeft: true }, use: ['postmark', 'mailgun'] }];
    expect(outcomesOf(rules)['transactional/normal']).toEqual([
      'routing.rules[0] postmark>mailgun (postmark has free tier left)',
      'failover.order mailgun>postmark>smtp (when no free-tier rule above matches)',
    ]);
  });

  it('with failover off, each chain is only its first provider', () => {
    expect(outcomesOf([], ['smtp', 'mailgun'], false)['marketing/critical']).toEqual(['failover.order smtp (always)']);
    expect(failoverOrderUsage(summariseRouting([], ORDER, true))).toBe('failover.order is used for every message');
  });

  it('prints one aligned line per outcome', () => {
    const lines = routingLines(summariseRouting(EXAMPLE_RULES, ORDER, true));
    expect(lines).toEqual([
      'transactional/normal    postmark → mailgun → smtp  rule 2 (type: transactional)',
      'transactional/critical  postmark → mailgun → smtp  rule 1 (priority: critical)',
      'marketing/normal        smtp → mailgun             rule 3: monthly volume below 1,000',
      '                        mailgun → smtp             rule 4: monthly volume 1,000 or more',
      'marketing/critical      postmark → mailgun → smtp  rule 1 (priority: critical)',
    ]);
  });

  it('does not analyse rules the schema refuses', () => {
    expect(rulesFromRaw({ routing: { rules: [{ when: { type: 'bulk' }, use: ['smtp'] }] } })).toBeUndefined();
    expect(rulesFromRaw({})).toEqual([]);
  });
});
