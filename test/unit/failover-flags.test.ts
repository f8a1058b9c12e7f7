import { describe, expect, it } from 'vitest';
import {
  allAnswered,
  answersFromFlags,
  changeFrom,
  firstMissingFlag,
  presetFromFlags,
  readCurrentFailover,
  type CurrentFailover,
} from '../../src/cli/failover-wizard.js';

const current: CurrentFailover = readCurrentFailover({
  providers: { postmark: { type: 'postmark' }, mailgun: { type: 'mailgun' }, smtp: { type: 'smtp' } },
  failover: { order: ['postmark', 'mailgun', 'smtp'], retry: { attempts: 3, delay: 30 } },
});

describe('readCurrentFailover', () => {
  it('fills in the loader defaults', () => {
    expect(current).toMatchObject({ enabled: true, order: ['postmark', 'mailgun', 'smtp'], retryAttempts: 3, retryDelay: '30s' });
    expect(readCurrentFailover({ providers: { a: { type: 'smtp' }, b: { type: 'mailgun' } } })).toEqual({
      providers: [
        { name: 'a', type: 'smtp' },
        { name: 'b', type: 'mailgun' },
      ],
      enabled: true,
      order: ['a', 'b'],
      retryAttempts: 3,
      retryDelay: '30s',
      ruleChains: [],
    });
  });
});

describe('presetFromFlags', () => {
  it('reads valid flags', () => {
    expect(presetFromFlags({ primary: 'smtp', fallback: 'postmark', retryAttempts: '5', retryDelay: '2m', disable: true }, current)).toEqual({
      enabled: false,
      primary: 'smtp',
      fallback: 'postmark',
      retryAttempts: 5,
      retryDelay: '2m',
    });
  });

  it.each([
    [{ primary: 'mailgn' }, '--primary: unknown provider "mailgn" (known: postmark, mailgun, smtp) — did you mean "mailgun"?'],
    [{ primary: 'ses' }, '--primary: unknown provider "ses" (known: postmark, mailgun, smtp)'],
    [{ primary: 'smtp', fallback: 'smtp' }, '--fallback: "smtp" is already the primary; a provider can appear only once in the chain'],
    [{ primary: 'smtp', fallback: 'mailgun', final: 'mailgun' }, '--final: "mailgun" is already the fallback'],
    [{ retryAttempts: '-1' }, '--retry-attempts -1: must be a whole number from 1 to 10'],
    [{ retryAttempts: '0' }, '--retry-attempts 0: must be a whole number from 1 to 10'],
    [{ retryAttempts: '11' }, '--retry-attempts 11: must be a whole number from 1 to 10'],
    [{ retryAttempts: '2.5' }, '--retry-attempts 2.5: must be a whole number'],
    [{ retryDelay: 'soon' }, '--retry-delay soon: not a duration (use e.g. 500ms, 30s, 2m, 1h)'],
    [{ enable: true, disable: true }, '--enable and --disable cannot be used together'],
  ])('rejects %j', (options, message) => {
    expect(() => presetFromFlags(options, current)).toThrow(message);
  });
});

describe('firstMissingFlag', () => {
  it('names the flag a non-interactive run still needs', () => {
    expect(firstMissingFlag({}, current)).toBe('--primary');
    expect(firstMissingFlag({ fallback: 'smtp' }, current)).toBe('--primary');
    expect(firstMissingFlag({ primary: 'smtp', final: 'mailgun' }, current)).toBe('--fallback');
    expect(firstMissingFlag({ primary: 'smtp' }, current)).toBe('--fallback');
  });

  it('needs no fallback when failover is off, and nothing but the flags being changed', () => {
    expect(firstMissingFlag({ primary: 'smtp', enabled: false }, current)).toBeUndefined();
    expect(firstMissingFlag({ retryAttempts: 5 }, current)).toBeUndefined();
    expect(firstMissingFlag({ primary: 'smtp', fallback: 'mailgun' }, current)).toBeUndefined();
  });

  it('treats a run as fully answered only when every question has a flag', () => {
    expect(allAnswered({ primary: 'smtp', fallback: 'mailgun' }, current)).toBe(false);
    expect(allAnswered({ enabled: true, primary: 'smtp', fallback: 'mailgun', retryAttempts: 2, retryDelay: '1s' }, current)).toBe(true);
  });
});

describe('changeFrom', () => {
  it('keeps only what differs from the settings in effect', () => {
    expect(changeFrom(answersFromFlags({ retryDelay: '30s' }, current), current)).toEqual({});
    expect(changeFrom(answersFromFlags({ primary: 'smtp', fallback: 'mailgun', retryAttempts: 4 }, current), current)).toEqual({
      order: ['smtp', 'mailgun'],
      retryAttempts: 4,
    });
  });

  it('with --apply-to-rules, gives every rule the new order (and nothing when they all have it already)', () => {
    const withRules = readCurrentFailover({
      providers: { postmark: { type: 'postmark' }, mailgun: { type: 'mailgun' }, smtp: { type: 'smtp' } },
      routing: { rules: [{ when: { priority: 'critical' }, use: ['postmark', 'mailgun'] }, { use: ['smtp', 'mailgun'] }] },
    });
    expect(withRules.ruleChains).toEqual([['postmark', 'mailgun'], ['smtp', 'mailgun']]);
    const preset = presetFromFlags({ applyToRules: true, primary: 'mailgun', fallback: 'smtp' }, withRules);
    expect(preset.applyToRules).toBe(true);
    expect(changeFrom(answersFromFlags(preset, withRules), withRules)).toEqual({
      order: ['mailgun', 'smtp'],
      ruleChains: [['mailgun', 'smtp'], ['mailgun', 'smtp']],
    });
    expect(changeFrom(answersFromFlags({ primary: 'mailgun', fallback: 'smtp' }, withRules), withRules)).toEqual({ order: ['mailgun', 'smtp'] });
    const synced = { ...withRules, ruleChains: [['postmark', 'mailgun', 'smtp']] };
    expect(changeFrom(answersFromFlags({ applyToRules: true }, synced), synced)).toEqual({});
  });
});
