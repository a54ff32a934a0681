/**
 * `file`: appends each acknowledged change to `<path>/<sync>.jsonl` (or `.csv`).
 * Needs no server, so the example project runs anywhere; the write is fsynced before it is acknowledged.
 */
import { mkdir, open } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import {
  DestinationError,
  type DestinationClient,
  type DestinationConnector,
  type OutboundRow,
  type RowOp,
  type WriteTarget,
  writeOperation,
} from '../../destination.js';
import { checkWritableFolder } from './check-folder.js';
import { stringifyExactJson } from '../../../shared/exact-json.js';
import { csvLine } from '../../../shared/csv-line.js';
import { targetSettings } from '../../kit/settings.js';
import { classifyFileError, fileCatalogue } from './errors.js';

const FORMATS = ['jsonl', 'csv'] as const;
type Format = (typeof FORMATS)[number];

function outputFile(target: WriteTarget): { dir: string; file: string; format: Format } {
  const settings = targetSettings(target, fileCatalogue, 'FILE_CONFIG');
  // The sync's format wins over the destination's.
  const format = settings.sync.oneOf('format', FORMATS, { default: settings.destination.oneOf('format', FORMATS, { default: 'jsonl' }) });
  // "" is the project folder itself, as it always was.
  const base = settings.destination.string('path', { default: 'out', allowEmpty: true });
  const dir = isAbsolute(base) ? base : resolve(target.projectDir ?? process.cwd(), base);
  return { dir, file: join(dir, `${target.sync.name}.${format}`), format };
}

class FileClient implements DestinationClient {
  constructor(private readonly target: WriteTarget) {}

  async write(op: RowOp, rows: OutboundRow[]) {
    const { dir, file, format } = outputFile(this.target);
    const at = new Date().toISOString();
    // Recorded as what a real destination would have been asked to do.
    const operationName = writeOperation(this.target.sync.mode, op);
    const fields = this.target.sync.fields;
    let text = '';
    for (const row of rows) {
      text +=
        format === 'jsonl'
          ? stringifyExactJson({ op: operationName, key: row.key, fields: op === 'delete' ? {} : row.fields, at }) + '\n'
          : csvLine([operationName, row.key, at, ...fields.map((f) => (op === 'delete' ? null : row.fields[f]))]);
    }
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(file, 'a');
      try {
        if (format === 'csv' && (await handle.stat()).size === 0) {
          text = csvLine(['_op', '_key', '_at', ...fields]) + text;
        }
        // One write on an O_APPEND handle keeps concurrent workers' batches whole.
        await handle.write(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw new DestinationError(classifyFileError(error as NodeJS.ErrnoException, file));
    }
    return { results: rows.map((row) => ({ key: row.key, ok: true as const })), apiCalls: 1 };
  }

  async close() {}
}

export const fileDestination: DestinationConnector = {
  catalogue: fileCatalogue.entries,
  type: 'file',
  settingsSchema: {
    properties: {
      path: { type: 'string', description: 'Folder the files are written to, relative to the project. Default: out' },
      format: { enum: [...FORMATS], description: 'Default: jsonl' },
    },
  },
  syncSchema: {
    properties: {
      format: { enum: [...FORMATS], description: 'Overrides the destination format for this sync.' },
    },
  },
  defaults: {
    batchSize: 1000,
    maxBatchSize: 100_000,
    concurrency: 1,
    retry: { attempts: 3, base_delay_ms: 50, max_delay_ms: 1000 },
  },
  async check(target) {
    const { dir } = outputFile(target);
    try {
      await checkWritableFolder(dir);
    } catch (error) {
      throw new DestinationError(classifyFileError(error as NodeJS.ErrnoException, dir));
    }
  },
  async connect(target) {
    return new FileClient(target);
  },
};
