/** "did you mean …?" suggestions for misspelt keys: the closest candidate by edit distance. */

/**
 * Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment):
 * `modle` → `model` and `tpye` → `type` are 1, not 2, so short keys with a swap still get a suggestion.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        current[j] = Math.min(current[j], beforePrevious[j - 2] + 1);
      }
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length];
}

/** The closest candidate, or undefined when none is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  // A third of the word's length: `batchsize` → `batch_size`, but not `foo` → `mode`.
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Hint for an unknown key: the likely intended key, else the list of valid keys. */
export function unknownKeyHint(key: string, allowed: readonly string[]): string {
  const guess = closest(key, allowed);
  if (guess) return `did you mean "${guess}"?`;
  return allowed.length > 0 ? `allowed keys: ${allowed.join(', ')}.` : 'remove it; no keys are allowed here.';
}
