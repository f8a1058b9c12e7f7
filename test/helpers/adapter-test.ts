import { expect } from 'vitest';
import { recipientDigest } from '../../src/core/bulk-key.js';
import { ProviderError } from '../../src/core/errors.js';

/** The ProviderError a call is expected to fail with. */
export async function failure(send: Promise<unknown>): Promise<ProviderError> {
  const error = await send.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** `count` bulk recipients r0@example.com… with the fields given for each. */
export function recipients(count: number, fields: (i: number) => Record<string, string> = () => ({})) {
  return Array.from({ length: count }, (_, i) => {
    const row = { email: `r${i}@example.com`, fields: fields(i) };
    return { ...row, digest: recipientDigest(row) };
  });
}
