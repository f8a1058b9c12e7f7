import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { validateConfig } from '../../src/config/validate.js';
import { UserError } from '../../src/core/errors.js';
import { catalogEntry } from '../../src/cost/catalog.js';
import { buildCostSetup, estimate, strategiesShown, strategyChoices, strategyNames } from '../../src/cost/model.js';
import type { ProviderDefinition } from '../../src/providers/provider.js';
import { PROVIDER_DEFINITIONS, PROVIDER_TYPES, registerProviderDefinition } from '../../src/providers/registry.js';
import { ROOT } from '../helpers/cli.js';

function definition(type: string, catalog: Partial<ProviderDefinition['catalog']> = {}): ProviderDefinition {
  return {
    type,
    label: type,
    configSchema: z.object({ type: z.literal(type) }),
    secretKeys: [],
    maxMessageBytes: () => 1_000_000,
    catalog: { readOn: '2026-01', source: `${type}.example/pricing`, plans: [{ name: 'only', monthly: 10, included: 5000, overagePer1k: 2 }], ...catalog },
    sdkPackages: [],
    create: () => {
      throw new Error('not sent in this test');
    },
  };
}

describe('the provider registry', () => {
  it('refuses a type already known, a reserved or malformed one, and a second default for a message type', () => {
    expect(() => registerProviderDefinition(definition('postmark'))).toThrow('provider type "postmark" is already registered');
    expect(() => registerProviderDefinition(definition('hybrid'))).toThrow('reserved for a cost strategy');
    expect(() => registerProviderDefinition(definition('all'))).toThrow('reserved for a cost strategy');
    expect(() => registerProviderDefinition(definition('Big Mail'))).toThrow('lower-case letters, digits and dashes');
    expect(() => registerProviderDefinition(definition('rival', { hybridDefaultFor: 'marketing' }))).toThrow('mailgun already carries marketing mail in the default hybrid');
    expect(PROVIDER_TYPES).toEqual(['postmark', 'mailgun', 'smtp', 'sendgrid', 'ses']);
  });

  it('prices the default hybrid from the catalog data of the definitions', () => {
    const setup = buildCostSetup();
    expect(setup.routing.rules.map((rule) => [rule.name, rule.use])).toEqual([
      ['default: transactional → postmark', ['postmark']],
      ['default: marketing → mailgun', ['mailgun']],
    ]);
    expect(setup.notes).toEqual(['no providers configured: hybrid routes transactional → postmark, marketing → mailgun (built-in catalog prices)']);
  });

  it('gives a registered type a strategy, a --strategy choice, catalog prices and config validation', () => {
    const zeta = definition('zeta');
    registerProviderDefinition(zeta);
    expect(PROVIDER_DEFINITIONS.at(-1)).toBe(zeta);
    expect(strategyNames()).toEqual(['postmark', 'mailgun', 'smtp', 'sendgrid', 'ses', 'zeta', 'hybrid']);
    expect(strategyChoices()).toEqual(['all', 'hybrid', 'postmark', 'mailgun', 'smtp', 'sendgrid', 'ses', 'zeta']);
    expect(strategiesShown('zeta')).toEqual(['zeta']);
    expect(catalogEntry('zeta')).toBe(zeta.catalog);

    const config = validateConfig({ providers: { z1: { type: 'zeta' } } }, { baseDir: '/tmp' });
    const result = estimate(buildCostSetup(config), { transactional: 0, marketing: 6000 }, ['zeta']);
    // $10 for 5,000 + 1,000 × $2.00/1k
    expect(result.strategies[0]).toMatchObject({ strategy: 'zeta', label: 'all-zeta', totalCents: 1200 });
    expect(result.strategies[0].providers[0]).toMatchObject({ provider: 'z1', plan: 'only' });
  });

  it('refuses an unknown strategy with the known ones', () => {
    expect(() => strategiesShown('sendgird')).toThrow(UserError);
    try {
      strategiesShown('sendgird');
    } catch (error) {
      expect((error as UserError).hint).toMatch(/^use one of: all, hybrid, postmark, mailgun, smtp, sendgrid, ses/);
    }
  });
});

/** Every .ts file under dir, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('provider types outside src/providers', () => {
  it('are never spelled out in code: everything reads the registry', () => {
    const outside = sources(path.join(ROOT, 'src')).filter((file) => !file.includes(`${path.sep}providers${path.sep}`));
    const found = outside.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return ['postmark', 'mailgun', 'smtp', 'sendgrid', 'ses'].filter((type) => text.includes(`'${type}'`) || text.includes(`"${type}"`)).map((type) => `${path.relative(ROOT, file)}: '${type}'`);
    });
    expect(found).toEqual([]);
  });
});
