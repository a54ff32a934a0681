/**
 * Full-jitter exponential backoff (AWS, "Exponential Backoff And Jitter"):
 * delay = random(0, min(cap, base · 2^attempt)). With base 200 ms and cap 10 s the ceilings run
 * 200, 400, 800, 1600, 3200 ms…; jitter spreads retries so workers do not hammer the API in step.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
