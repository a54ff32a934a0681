/**
 * The text of a receiver's answer. No `accept-encoding` is sent, but a receiver may compress anyway;
 * `fetch` decoded such a body, undici's `request` does not, and an undecoded body reads as one with no
 * `results`, which would acknowledge rows the receiver refused. A body that cannot be decoded throws,
 * and the call fails as a network failure instead.
 */
import { brotliDecompressSync, constants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

export function answerText(bytes: Buffer, contentEncoding: string | string[] | undefined): string {
  const codings = [contentEncoding ?? '']
    .flat()
    .join(',')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let body = bytes;
  // Codings are listed in the order they were applied: undone last first.
  for (const coding of codings.reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip') body = gunzipSync(body, { finishFlush: constants.Z_SYNC_FLUSH });
    // "deflate" is zlib-wrapped by the standard, raw in some servers: the first byte tells (CM = 8).
    else if (coding === 'deflate') body = (body[0] & 0x0f) === 8 ? inflateSync(body) : inflateRawSync(body);
    else if (coding === 'br') body = brotliDecompressSync(body);
    else throw Object.assign(new Error(`unsupported content-encoding ${coding}`), { code: 'UNSUPPORTED_CONTENT_ENCODING' });
  }
  // As `fetch`'s text(): UTF-8, a byte-order mark dropped.
  return new TextDecoder().decode(body);
}
