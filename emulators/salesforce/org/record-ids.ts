/**
 * Salesforce record Ids as the real API returns them: 18 characters, the object's 3-character key
 * prefix first, then a base-62 record number, then the 3-character case-safe checksum that turns a
 * 15-character Id into an 18-character one.
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
/** Salesforce's "pod" and reserved characters, fixed here: `0035g00000…` is what a real org hands out. */
const POD = '5g0';
const NUMBER_CHARS = 9;

/** One checksum character per 5-character chunk: bit i is set when character i is an upper-case letter. */
function checksum(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    out += CHECKSUM[bits];
  }
  return out;
}

export function recordId(keyPrefix: string, sequence: number): string {
  let n = sequence;
  let digits = '';
  do {
    digits = BASE62[n % 62] + digits;
    n = Math.floor(n / 62);
  } while (n > 0);
  const id15 = keyPrefix + POD + digits.padStart(NUMBER_CHARS, '0');
  return id15 + checksum(id15);
}

/** An 18-character Id whose checksum matches, or a 15-character one; anything else is MALFORMED_ID. */
export function isWellFormedId(id: string): boolean {
  if (!/^[0-9A-Za-z]{15}([0-9A-Z]{3})?$/.test(id)) return false;
  return id.length === 15 || checksum(id.slice(0, 15)) === id.slice(15);
}

/** The 18-character form of a 15- or 18-character Id (an 18-character one is returned as it is). */
export function toId18(id: string): string {
  return id.length === 15 ? id + checksum(id) : id;
}
