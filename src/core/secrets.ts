/**
 * Every secret value the program has seen (from the environment or from secret config keys).
 * The output layer passes all text through `redactSecrets`, so a secret that slips into an
 * SDK error message or a payload preview is still never printed.
 */
const knownSecrets = new Set<string>();
export const MASK = '****';

export function registerSecret(value: string | undefined): void {
  // Very short values would mask ordinary words; they are not credible secrets anyway.
  if (value && value.length >= 4) knownSecrets.add(value);
}

export function redactSecrets(text: string): string {
  let result = text;
  for (const secret of knownSecrets) {
    if (result.includes(secret)) result = result.split(secret).join(MASK);
    // Text that is JSON holds a secret with its " and \ (and control characters) escaped.
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && result.includes(escaped)) result = result.split(escaped).join(MASK);
  }
  return result;
}

