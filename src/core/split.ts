/**
 * Weighted splits (`split: { mailgun: 90, ses: 10 }`): which member a message gets. The pick is a
 * pure function of the message's idempotency key, so a retry, an outbox resend, a rerun and the
 * worker all pick the same provider as the first send did, and so does another process.
 */
export type SplitWeights = Record<string, number>;

/** A point in [0, 1) from the key: the first 48 bits of its SHA-256 (evenly spread, any key length). */
export function splitPoint(key: string): number {
  // node:crypto is fetched here, not imported: the router is on every command's path (`cost
  // estimate` too), and loading crypto cost each of them ~4 ms of start-up (#21).
  const digest = process.getBuiltinModule('node:crypto').createHash('sha256').update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * Members sorted by name: the pick of a key must not depend on the order the YAML lists them in
 * (reordering the file would otherwise move messages from one provider to another).
 */
function members(weights: SplitWeights): [string, number][] {
  return Object.entries(weights).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The member this key gets: the points [0, 1) are cut into spans proportional to the weights. */
export function pickFromSplit(weights: SplitWeights, key: string): string {
  const entries = members(weights);
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  const point = splitPoint(key) * total;
  let upTo = 0;
  for (const [name, weight] of entries) {
    upTo += weight;
    if (point < upTo) return name;
  }
  return entries[entries.length - 1][0];
}

/** Each member's share in percent, one decimal (what route explain shows). */
export function splitShares(weights: SplitWeights): Record<string, number> {
  const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
  return Object.fromEntries(members(weights).map(([name, weight]) => [name, Math.round((weight * 1000) / total) / 10]));
}

/** Members by weight, heaviest first (ties by name): the order the unpicked ones serve as fallbacks. */
export function byWeight(weights: SplitWeights): string[] {
  return members(weights)
    .sort(([, a], [, b]) => b - a)
    .map(([name]) => name);
}

/**
 * The chain of a split rule: the picked member first, then the rule's `use` (its fallbacks), then
 * the split's other members by weight, heaviest first, each provider once. With no pick (no key
 * known yet, e.g. `route explain` without --idempotency-key), the heaviest member leads.
 */
export function splitChain(weights: SplitWeights, fallbacks: readonly string[], picked: string | undefined): string[] {
  const members = byWeight(weights);
  const order = [picked ?? members[0], ...fallbacks, ...members];
  return [...new Set(order)];
}
