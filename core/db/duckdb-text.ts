/**
 * DuckDB's Node API decodes every VARCHAR with one shared `new TextDecoder()`, which drops a byte-order
 * mark (U+FEFF) that begins the text: a key '\uFEFFabc' came back as 'abc', was sent under the wrong key
 * and collided with the real 'abc'. The decoder is swapped, once per process, for one that keeps it.
 * Imported for its effect by every module that opens DuckDB; `test/duckdb-text.test.ts` fails if an
 * upgrade moves the decoder.
 */
import { createRequire } from 'node:module';

const accessors = createRequire(import.meta.url)('@duckdb/node-api/lib/vectors/dataAccessors.js') as { textDecoder: TextDecoder };
if (!accessors.textDecoder.ignoreBOM) accessors.textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
