/**
 * JSON Schemas (draft-07) of the project, sync and model files: a base plus every registered
 * connector's fragments. The loader validates with them, and they are published in `schemas/`
 * for editors. To get completion and checks in VS Code (YAML extension), start a file with e.g.
 *
 *   # yaml-language-server: $schema=../schemas/sync.schema.json
 *
 * (path relative to the YAML file; `./schemas/project.schema.json` for the project file).
 * Values are checked after `${ENV}` substitution, so numbers must be written literally.
 */
import type { DestinationConnector } from '../../connectors/destination.js';
import { connectorTypes, getConnector } from '../../connectors/registry.js';
import { projectAlertsSchema, syncAlertsSchema } from './alerts.js';
import { getSource, sourceTypes } from '../../connectors/source-registry.js';

type Schema = Record<string, unknown>;

const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

export const SYNC_MODES = ['insert', 'update', 'upsert', 'mirror'] as const;

/** Keys of `destinations.<name>` that the engine reads; everything else is connector settings. */
export const DESTINATION_ENGINE_KEYS = ['type', 'batch_size', 'concurrency', 'workers', 'retry', 'api_budget'] as const;

const apiBudget = {
  type: 'object',
  additionalProperties: false,
  description:
    'How the destination\'s API budget is spent (README "API budget"): failed-row retries are held back when usage is high, new changes still sent.',
  properties: {
    hold_retries_above_share: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 1,
      description: 'Hold failed-row retries back once this share of the daily limit is used. Default: 0.75.',
    },
    hold_retries_after_calls: {
      type: 'integer',
      minimum: 1,
      description: 'When the destination reports no limit: hold retries back after this many calls in the last 24 hours. Default: 5000.',
    },
    max_calls_per_run: {
      type: 'integer',
      minimum: 1,
      description: 'No batch leaves once a run has spent this many API calls; the rest is deferred to the next run. Default: no cap.',
    },
    resume_after_minutes: {
      type: 'integer',
      minimum: 1,
      description: 'After the daily quota is spent, no run sends to the destination for this long. Default: 60.',
    },
  },
};

const batchSize = { type: 'integer', minimum: 1, description: 'Rows per write call.' };
const concurrency = { type: 'integer', minimum: 1, description: 'Write calls in flight at once.' };
const workers = {
  type: 'integer',
  minimum: 1,
  description: 'Worker threads the write calls are spread over. Default: concurrency, at most one per CPU core.',
};
const retry = {
  type: 'object',
  additionalProperties: false,
  description: 'In-run retries of transient failures, with exponential backoff.',
  properties: {
    attempts: { type: 'integer', minimum: 1, description: 'Attempts per row, the first send included.' },
    base_delay_ms: { type: 'integer', minimum: 0, description: 'Delay before the first retry.' },
    max_delay_ms: { type: 'integer', minimum: 0, description: 'Upper bound of the backoff delay.' },
  },
};

// The grammar of each value (interval units, 5 cron fields, IANA zone) is checked by core/config/schedule.ts,
// whose messages say what is wrong; a schema alternative (anyOf) would report the first branch's complaint.
const schedule = {
  type: ['string', 'object'],
  description:
    'When the scheduler runs the sync. Default: manual. An interval ({every: 15m}; units s, m, h, d; from 1m to 365d; slots at multiples of it since the Unix epoch, UTC), a 5-field cron expression ({cron: "0 * * * *", timezone: Europe/Paris}; timezone default UTC), or the string manual, an interval or a 5-field cron (UTC).',
  examples: ['manual', { every: '15m' }, { cron: '0 * * * *', timezone: 'Europe/Paris' }],
  additionalProperties: false,
  properties: {
    every: { type: 'string', description: 'Interval: 15m, 90s, 1h30m, 1d; from 1m to 365d.' },
    cron: { type: 'string', description: 'Cron expression of 5 fields: minute hour day-of-month month day-of-week.' },
    timezone: { type: 'string', description: 'IANA time zone the cron expression is read in. Default: UTC.' },
  },
};

const failedRows = {
  type: 'object',
  additionalProperties: false,
  description:
    'What happens to a failed row across runs (the in-run `retry:` is about one run). Default: retried by every run with its latest values; rows whose error needs a change of values are blocked until it comes.',
  examples: [{ min_interval: '20m', max_tries: 10, timeout_queue: { cron: '0 0 * * *' } }, { backoff: { base: '5m', max: '6h' } }],
  properties: {
    min_interval: { type: 'string', description: 'Least time between two tries of a row (15m, 1h). Default: 0, every run.' },
    backoff: {
      type: 'object',
      additionalProperties: false,
      description: 'Exponential backoff with full jitter between tries: a wait of random(0, min(max, base · 2^(tries-1))).',
      properties: {
        base: { type: 'string', description: 'Ceiling of the first wait. Default: 1m.' },
        max: { type: 'string', description: 'Largest ceiling. Default: 1d.' },
      },
    },
    max_tries: {
      type: 'integer',
      minimum: 1,
      description: 'Tries (runs that sent the row and saw it fail) after which the row moves to the timeout queue. Default: no limit.',
    },
    timeout_queue: {
      ...schedule,
      description: 'When the timed-out rows are retried, all together: an interval or a 5-field cron. Default: "0 0 * * *" (00:00 UTC).',
      examples: ['0 0 * * *', { cron: '0 2 * * *', timezone: 'Europe/Paris' }],
    },
    block: {
      type: 'boolean',
      description: "Block rows whose error (per the connector's catalogue) cannot pass without a change of their values. Default: true.",
    },
  },
};

function connectors(): DestinationConnector[] {
  return connectorTypes().map((type) => getConnector(type)!);
}

/** `{type: duckdb, path}` or `{type: postgres, url}`, with an if/then per type so unknown keys are caught. */
function database(description: string, extraPostgres: Record<string, object> = {}): Schema {
  return {
    type: 'object',
    description,
    required: ['type'],
    properties: { type: { enum: ['duckdb', 'postgres'] } },
    allOf: [
      {
        if: { properties: { type: { const: 'duckdb' } }, required: ['type'] },
        then: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { const: 'duckdb' },
            path: {
              type: 'string',
              minLength: 1,
              description: "DuckDB file, relative to the project directory, or ':memory:'.",
            },
          },
        },
      },
      {
        if: { properties: { type: { const: 'postgres' } }, required: ['type'] },
        then: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: {
            type: { const: 'postgres' },
            url: { type: 'string', minLength: 1, description: 'postgres://user:password@host:port/database' },
            ...extraPostgres,
          },
        },
      },
    ],
  };
}

function destinationProperties(connector: DestinationConnector): Record<string, object> {
  const properties: Record<string, object> = { type: { const: connector.type } };
  for (const [key, fragment] of Object.entries(connector.settingsSchema.properties)) {
    // A connector cannot redefine the keys the engine reads.
    if (!(DESTINATION_ENGINE_KEYS as readonly string[]).includes(key)) properties[key] = fragment;
  }
  return {
    ...properties,
    batch_size: { ...batchSize, maximum: connector.defaults.maxBatchSize },
    concurrency,
    workers,
    retry,
    api_budget: apiBudget,
  };
}

function destination(): Schema {
  const all = connectors();
  return {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: all.map((c) => c.type), description: 'Connector type.' } },
    allOf: all.map((connector) => ({
      if: { properties: { type: { const: connector.type } }, required: ['type'] },
      then: {
        type: 'object',
        additionalProperties: false,
        required: connector.settingsSchema.required ?? [],
        properties: destinationProperties(connector),
      },
    })),
  };
}

export function projectJsonSchema(): Schema {
  return {
    $schema: DRAFT_07,
    title: 'hightouch-like project (hightouch-like.config.yaml)',
    type: 'object',
    additionalProperties: false,
    properties: {
      warehouse: database("Where models run. Default: {type: duckdb, path: ':memory:'}."),
      state: database('Where sync state is kept. Default: {type: duckdb, path: .hightouch-like/state.duckdb}.', {
        query_url: {
          type: 'string',
          minLength: 1,
          description: 'Optional: the URL `query` connects with instead of url, e.g. a role that may only SELECT the state tables.',
        },
      }),
      scheduler: {
        type: 'object',
        additionalProperties: false,
        description: 'How `serve` runs the syncs on their schedules.',
        properties: {
          max_parallel: { type: 'integer', minimum: 1, maximum: 64, description: 'Runs at once over all syncs. Default: 2.' },
          takeover_seconds: {
            type: 'integer',
            minimum: 2,
            maximum: 86400,
            description:
              'PostgreSQL state: seconds after which the queue job of a run whose process died expires, so another serve process runs the sync. Default: 120.',
          },
          queue_schema: {
            type: 'string',
            pattern: '^[a-z_][a-z0-9_]{0,62}$',
            description:
              'PostgreSQL state: the schema of the state database holding the pg-boss queue tables. Default: hightouch_like_queue.',
          },
        },
      },
      service: {
        type: 'object',
        additionalProperties: false,
        description: 'The HTTP API and dashboard of `serve`.',
        properties: {
          host: {
            type: 'string',
            minLength: 1,
            description: 'Address to listen on: 127.0.0.1 (default). Any address but 127.0.0.1, ::1 or localhost needs `token`.',
          },
          port: { type: 'integer', minimum: 0, maximum: 65535, description: 'TCP port. Default: 7345; 0 picks a free one.' },
          token: {
            type: 'string',
            minLength: 1,
            description:
              'From ${ENV} only, at least 16 characters: every request (pages and API) must carry it, as `Authorization: Bearer` or the login cookie. Required for a non-loopback host.',
          },
        },
      },
      destinations: {
        type: 'object',
        description: 'Destinations by name, referenced by syncs.',
        additionalProperties: destination(),
      },
      alerts: projectAlertsSchema(),
      sources: {
        type: 'object',
        description: 'Sources by name, read by extracts (extracts/<name>.yaml). Tokens from ${ENV} only.',
        additionalProperties: source(),
      },
      landing: {
        type: 'object',
        additionalProperties: false,
        description:
          'Where extracts land their tables; models read them as landed.<table>. DuckDB warehouse: a DuckDB file of its own, attached read-only to models. PostgreSQL warehouse: a schema of the warehouse database.',
        properties: {
          path: {
            type: 'string',
            minLength: 1,
            description: 'DuckDB warehouse: the landing file. Default: .hightouch-like/landed.duckdb.',
          },
          schema: {
            type: 'string',
            pattern: IDENTIFIER,
            description: 'PostgreSQL warehouse: the schema landed tables live in. Default: landed.',
          },
          url: {
            type: 'string',
            minLength: 1,
            description:
              'PostgreSQL warehouse: the URL extracts write with (a role that may write the landing schema). Default: warehouse.url.',
          },
        },
      },
    },
  };
}

/** Lower-case SQL identifiers: they need no quoting in DuckDB or PostgreSQL and name one thing in both. */
export const IDENTIFIER = '^[a-z_][a-z0-9_]{0,62}$';

function source(): Schema {
  return {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: sourceTypes(), description: 'Source type.' } },
    allOf: sourceTypes().map((type) => {
      const connector = getSource(type)!;
      return {
        if: { properties: { type: { const: type } }, required: ['type'] },
        then: {
          type: 'object',
          additionalProperties: false,
          required: connector.settingsSchema.required ?? [],
          properties: {
            type: { const: type },
            ...connector.settingsSchema.properties,
            api_budget: {
              type: 'object',
              additionalProperties: false,
              description: 'Default budget of the extracts reading this source.',
              properties: { max_calls_per_run: apiBudget.properties.max_calls_per_run },
            },
          },
        },
      };
    }),
  };
}

export function extractJsonSchema(): Schema {
  return {
    $schema: DRAFT_07,
    title: 'hightouch-like extract (extracts/<name>.yaml)',
    type: 'object',
    additionalProperties: false,
    required: ['source', 'object', 'table'],
    properties: {
      source: { type: 'string', minLength: 1, description: 'Source name from the project file (sources:).' },
      object: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,79}$', description: 'The object read, e.g. Contact or Invoice__c.' },
      fields: {
        description:
          'The fields read: a list of API names, or all (every field the describe shows readable). Id and SystemModstamp are always read. Default: all.',
        anyOf: [
          { const: 'all' },
          { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,79}$' } },
        ],
      },
      table: { type: 'string', pattern: IDENTIFIER, description: 'The landed table (lower case), read by models as landed.<table>.' },
      filter: {
        type: 'string',
        minLength: 1,
        description: 'A SOQL condition (what follows WHERE), e.g. "Email != null AND LeadSource = \'Web\'"; Salesforce judges it.',
      },
      schedule,
      api: {
        enum: ['auto', 'rest', 'bulk'],
        description:
          'rest (query/queryMore, 2,000 records a call), bulk (Bulk API 2.0 query jobs), or auto: bulk when the count reaches bulk_threshold. Default: auto.',
      },
      bulk_threshold: {
        type: 'integer',
        minimum: 1,
        description: 'api: auto: records to read from which a run uses a Bulk API query job. Default: 10000.',
      },
      overlap: {
        type: 'string',
        description:
          'How far before the cursor each incremental read starts, so records committed late are not missed, e.g. 5m. Default: 5m.',
      },
      max_calls_per_run: {
        type: 'integer',
        minimum: 1,
        description:
          "No read call is made once a run has spent this many; the rest is read by the next run. Default: the source's, else no cap.",
      },
      description: { type: 'string' },
    },
  };
}

/** The base keys of a sync file, which every destination type accepts. */
function syncBaseProperties(): Record<string, Schema> {
  return {
    model: { type: 'string', minLength: 1, description: 'Model name: models/<model>.sql.' },
    destination: { type: 'string', minLength: 1, description: 'Destination name from the project file.' },
    primary_key: {
      type: 'string',
      minLength: 1,
      description: "Model column identifying a row. Default: the model's primary_key.",
    },
    mode: { enum: [...SYNC_MODES], description: 'Default: upsert.' },
    mapping: {
      type: 'object',
      minProperties: 1,
      description: 'Destination field → model column.',
      additionalProperties: { type: 'string', minLength: 1 },
    },
    batch_size: batchSize,
    concurrency,
    workers,
    retry,
    schedule,
    failed_rows: failedRows,
    retention: {
      type: 'string',
      description:
        'How long sync_runs and sync_changelog rows of this sync are kept (at least 1d). Default: 30d. failed_rows is never pruned.',
    },
    description: { type: 'string' },
    delete_guard: {
      type: 'object',
      additionalProperties: false,
      description:
        'Mirror mode: a run that would delete more than max_share of the rows the sync has synced, or whose model has no valid row left, stops before sending anything; `run --allow-deletes` lets one run through.',
      properties: {
        max_share: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          description: 'Largest share of the synced rows one run may delete. Default: 0.5.',
        },
      },
    },
    alerts: syncAlertsSchema(),
  };
}

export const SYNC_BASE_KEYS: readonly string[] = Object.keys(syncBaseProperties());

export function syncJsonSchema(): Schema {
  // A sync file does not name its destination type, so it may use any connector's keys here;
  // the loader then checks the keys against the one connector the sync actually uses.
  const fragments = new Map<string, object[]>();
  for (const connector of connectors()) {
    for (const [key, fragment] of Object.entries(connector.syncSchema.properties)) {
      const list = fragments.get(key) ?? [];
      if (!list.some((f) => JSON.stringify(f) === JSON.stringify(fragment))) list.push(fragment);
      fragments.set(key, list);
    }
  }
  // Base keys first (editors list them in this order) and never redefined by a connector.
  const properties: Record<string, object> = syncBaseProperties();
  for (const [key, list] of fragments) {
    if (!(key in properties)) properties[key] = list.length === 1 ? list[0] : { anyOf: list };
  }
  return {
    $schema: DRAFT_07,
    title: 'hightouch-like sync (syncs/<name>.yaml)',
    type: 'object',
    additionalProperties: false,
    required: ['model', 'destination', 'mapping'],
    properties,
  };
}

/** The keys one connector adds to a sync file, checked once the sync's destination is known. */
export function connectorSyncSchema(connector: DestinationConnector): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: connector.syncSchema.required ?? [],
    properties: connector.syncSchema.properties,
  };
}

export function modelJsonSchema(): Schema {
  return {
    $schema: DRAFT_07,
    title: 'hightouch-like model metadata (models/<name>.yaml)',
    type: 'object',
    additionalProperties: false,
    properties: {
      primary_key: { type: 'string', minLength: 1, description: 'Column identifying a row; syncs may override it.' },
      description: { type: 'string' },
    },
  };
}

/** The published files, by name under `schemas/`, as written by `write-schemas.ts`. */
export function schemaFiles(): Record<string, string> {
  const pretty = (schema: Schema) => JSON.stringify(schema, null, 2) + '\n';
  return {
    'project.schema.json': pretty(projectJsonSchema()),
    'sync.schema.json': pretty(syncJsonSchema()),
    'model.schema.json': pretty(modelJsonSchema()),
    'extract.schema.json': pretty(extractJsonSchema()),
  };
}

/** Every schema the loader validates against (`validateWithSchema`), for the build's precompile-schemas.ts. */
export function allSchemas(): Schema[] {
  return [
    projectJsonSchema(),
    syncJsonSchema(),
    modelJsonSchema(),
    extractJsonSchema(),
    ...connectorTypes().map((type) => connectorSyncSchema(getConnector(type)!)),
  ];
}
