import type { PlanOverageInput } from '../config/plan-schema.js';
import type { MessageType } from '../core/message.js';
import { findProviderTypeSummary, PROVIDER_TYPE_SUMMARIES } from '../providers/provider-types.js';

/**
 * Built-in list prices: each ESP's published plans live in its catalog file (providers/catalog/),
 * read through providers/provider-types.ts without loading the adapters or their schemas. Config
 * `pricing` (keyed by provider name or type) overrides them. Money in USD. A plan's overage is one rate (`overagePer1k`; null = hard cap,
 * nothing can be sent beyond `included`) or rates by volume tier (`overage`, see config/plan-schema.ts).
 */
export interface CatalogPlan extends PlanOverageInput {
  name: string;
  monthly: number;
  /** Emails included in the monthly fee; 'unlimited' for flat-cost infrastructure. */
  included: number | 'unlimited';
  /** Why this figure should be checked before relying on it. */
  unverified?: string;
}

export interface CatalogEntry {
  /** When the published prices were read; null when there is no list price. */
  readOn: string | null;
  source: string;
  /** Cheapest-first is not required: the model compares every plan. */
  plans: CatalogPlan[];
  /**
   * With no providers configured, `cost estimate` prices the hybrid strategy by sending this type
   * of mail through this ESP. One ESP per message type (the registry refuses a second claim).
   */
  hybridDefaultFor?: MessageType;
}

export function catalogEntry(type: string): CatalogEntry | undefined {
  return findProviderTypeSummary(type)?.catalog;
}

/** The provider type that carries each message type in the default hybrid (no providers configured). */
export function defaultHybridProviders(): Record<MessageType, string> {
  const claimant = (messageType: MessageType): string => {
    const definition = PROVIDER_TYPE_SUMMARIES.find((d) => d.catalog.hybridDefaultFor === messageType);
    if (!definition) throw new Error(`no provider definition has catalog.hybridDefaultFor: ${messageType}`);
    return definition.type;
  };
  return { transactional: claimant('transactional'), marketing: claimant('marketing') };
}
