import { describe, expect, it } from 'vitest';
import { RateGate } from '../../src/app/bulk/rate-gate.js';

describe('RateGate', () => {
  it('holds callers while paused; release lets them through at once, and later ones without waiting', async () => {
    const gate = new RateGate(Date.now);
    gate.pause(60 * 60_000);
    let through = 0;
    const waiting = [gate.wait(), gate.wait()].map((wait) => wait.then(() => through++));
    await new Promise((resolve) => setImmediate(resolve));
    expect(through).toBe(0);
    gate.release();
    await Promise.all(waiting);
    expect(through).toBe(2);
    gate.pause(60 * 60_000);
    await gate.wait();
    expect(gate.pauses).toBe(2);
  });
});
