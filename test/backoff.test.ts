import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../core/execute/backoff.js';

describe('full-jitter backoff', () => {
  it('draws from [0, min(cap, base · 2^attempt))', () => {
    expect(backoffDelay(0, 200, 10_000, () => 0.999)).toBe(199);
    expect(backoffDelay(3, 200, 10_000, () => 0.5)).toBe(800);
    expect(backoffDelay(10, 200, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelay(4, 200, 10_000, () => 0)).toBe(0);
  });

  it('spreads delays over the whole window', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(2, 100, 10_000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(400);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(300);
  });
});
