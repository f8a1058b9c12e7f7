/** Decimal units, as the ESPs state their limits ("10 MB"): the smaller reading of the number. */
const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1_000, mb: 1_000_000, gb: 1_000_000_000 };

/**
 * Parses a size such as `25MB`, `500 KB`, `1.5GB`, or a bare number of bytes.
 * Returns undefined when the text is not a size.
 */
export function parseByteSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(input);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_BYTES[(match[2] ?? 'b').toLowerCase()]);
}

/** `10 MB`, `14.7 MB`, `812 KB`, `95 bytes`: one decimal at most, trailing zeros dropped. */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [['GB', 1e9], ['MB', 1e6], ['KB', 1e3]] as const) {
    // Rounded first, so 999,950 bytes reads "1 MB", not "1000 KB".
    const value = +(bytes / size).toFixed(1);
    if (value >= 1) return `${value} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** The length of the base64 text of `bytes` bytes: what an attachment weighs in a message. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}
