/**
 * Bad input, one case a row, through the real CLI: exit code 1, exactly one line on stderr naming
 * file:line: field where there is one, no stack trace, and the state left as it was (absent, or
 * byte for byte what a good run wrote before the bad input). A problem of one sync found by preflight is
 * checked through `plan`; `run` records it as a failed run (test/run-isolation.test.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProject, type TestProject } from './support/project.js';
import { closedPort } from './support/closed-port.js';

const goodConfig = 'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file, path: out }\n';
const goodModel = 'select id, email, name\nfrom users';
const goodSync = 'model: users\ndestination: out\nprimary_key: id\nmapping:\n  email: email\n  name: name\n';

/** Over the 1 MiB limit, as a YAML (or SQL) comment so only the size is wrong. */
const oversized = (comment: string) => `${comment} ${'x'.repeat(1024 * 1024)}\n`;
/** 10 × 10 × 10 copies by line 4: past the 100 aliased nodes a file may expand. */
const aliasBomb =
  'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
/** `é` cut after its first byte on line 5. */
const badUtf8 = (text: string) => Buffer.concat([Buffer.from(text), Buffer.from([0xc3, 0x28, 0x0a])]);

interface Case {
  name: string;
  /** Files replacing the good ones; null removes one. Written after the good run of `withState`. */
  files?: Record<string, string | Buffer | null>;
  /** Anything files cannot express (symlinks, folders, a closed port). */
  prepare?: (project: TestProject) => Promise<void>;
  args: string[];
  error: RegExp;
  /** Run the good project once first, so the case must leave an existing state untouched. */
  withState?: boolean;
}

const cases: Case[] = [
  // The project file.
  {
    name: 'project: malformed YAML',
    files: { 'hightouch-like.config.yaml': 'destinations:\n  out: { type: file\n' },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:\d+: invalid YAML/,
  },
  {
    name: 'project: misspelt top-level key',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('destinations:', 'destination:') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:2: destination: unknown key "destination"\. did you mean "destinations"\?/,
  },
  {
    name: 'project: misspelt required destination key',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('type: file', 'tpye: file') },
    args: ['run', 'users'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out\.tpye: unknown key "tpye"\. did you mean "type"\?/,
  },
  {
    name: 'project: unknown destination type',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('type: file', 'type: hubspot') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out\.type: unknown destination type "hubspot"/,
  },
  {
    name: 'project: unknown warehouse type',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('type: duckdb', 'type: mysql') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:1: warehouse\.type: unknown database type "mysql"/,
  },
  {
    name: 'project: postgres state without url',
    files: { 'hightouch-like.config.yaml': goodConfig + 'state: { type: postgres }\n' },
    args: ['run', 'users'],
    error: /^error: hightouch-like\.config\.yaml:4: state\.url: required key is missing/,
  },
  {
    name: 'project: unset environment variable',
    files: { 'hightouch-like.config.yaml': goodConfig + '  api: { type: http, url: "${HTL_UNSET_URL}" }\n' },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:4: destinations\.api\.url: environment variable HTL_UNSET_URL is not set/,
  },
  {
    name: 'project: malformed environment reference',
    files: { 'hightouch-like.config.yaml': goodConfig + '  api: { type: http, url: "${1URL}" }\n' },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:4: destinations\.api\.url: malformed environment reference/,
  },
  {
    name: 'project: batch_size over the connector maximum',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('path: out', 'path: out, batch_size: 200000') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out\.batch_size: must be at most 100000/,
  },
  {
    name: 'project: misspelt retry key',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('path: out', 'path: out, retry: { attempt: 3 }') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out\.retry\.attempt: unknown key "attempt"\. did you mean "attempts"\?/,
  },
  {
    name: 'project: concurrency of 0',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('path: out', 'path: out, concurrency: 0') },
    args: ['plan', 'users'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out\.concurrency: must be at least 1/,
  },
  {
    name: 'project: concurrency in words',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('path: out', 'path: out, concurrency: four') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out\.concurrency: must be a whole number, not a string/,
  },
  {
    name: 'project: .yaml and .yml both',
    files: { 'hightouch-like.config.yml': goodConfig },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yml: both hightouch-like\.config\.yaml and hightouch-like\.config\.yml exist/,
  },
  {
    name: 'project: invalid UTF-8',
    files: { 'hightouch-like.config.yaml': badUtf8(goodConfig + '# caf') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:4: the file is not valid UTF-8/,
  },
  {
    name: 'project: over the size limit',
    files: { 'hightouch-like.config.yaml': goodConfig + oversized('#') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml: the file is \d+ bytes, over the limit of 1048576/,
  },
  {
    name: 'project: alias bomb',
    files: { 'hightouch-like.config.yaml': aliasBomb },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:2: YAML aliases expand too much\./,
  },
  {
    name: 'project: state path is a folder',
    prepare: (p) => mkdir(join(p.dir, 'state-dir')),
    files: { 'hightouch-like.config.yaml': goodConfig + 'state: { type: duckdb, path: state-dir }\n' },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:4: state\.path: .*state-dir is not a file/,
  },
  {
    name: 'project: unreachable PostgreSQL state',
    prepare: async (p) =>
      p.write(
        'hightouch-like.config.yaml',
        goodConfig + `state: { type: postgres, url: "postgres://postgres@127.0.0.1:${await closedPort()}/test" }\n`,
      ),
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:4: state\.url: cannot connect to PostgreSQL/,
  },
  {
    name: 'project: file destination under a file',
    files: { 'hightouch-like.config.yaml': goodConfig.replace('path: out', 'path: models/users.sql/out') },
    args: ['validate'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out: destination "out" \(file\) is not usable: .*ENOTDIR/,
  },
  {
    name: 'project: bad input with existing state',
    withState: true,
    files: { 'hightouch-like.config.yaml': goodConfig.replace('type: file', 'type: hubspot') },
    args: ['run', 'users'],
    error: /^error: hightouch-like\.config\.yaml:3: destinations\.out\.type: unknown destination type/,
  },

  // Models.
  {
    name: 'model: empty',
    files: { 'models/users.sql': '-- nothing yet\n' },
    args: ['validate'],
    error: /^error: models\/users\.sql:1: the model is empty/,
  },
  {
    name: 'model: two statements',
    files: { 'models/users.sql': goodModel + ';\nselect 2' },
    args: ['validate'],
    error: /^error: models\/users\.sql:1: the model holds more than one SQL statement/,
  },
  {
    name: 'model: SQL syntax error',
    files: { 'models/users.sql': 'select id, email, name\nfrom users\nwher id > 1' },
    args: ['validate'],
    error: /^error: models\/users\.sql:\d+: SQL error: Parser Error/,
  },
  {
    name: 'model: unknown table',
    withState: true,
    files: { 'models/users.sql': 'select id, email, name\nfrom customers' },
    args: ['plan', 'users'],
    error: /^error: models\/users\.sql:2: SQL error: Catalog Error: Table with name customers does not exist/,
  },
  {
    name: 'model: metadata without SQL',
    files: { 'models/other.yaml': 'primary_key: id\n' },
    args: ['validate'],
    error: /^error: models\/other\.yaml: has no SQL file/,
  },
  {
    name: 'model: misspelt metadata key',
    files: { 'models/users.yaml': 'primary_kye: id\n' },
    args: ['validate'],
    error: /^error: models\/users\.yaml:1: primary_kye: unknown key "primary_kye"\. did you mean "primary_key"\?/,
  },
  {
    name: 'model: invalid UTF-8 SQL',
    files: { 'models/users.sql': badUtf8('select id, email, name\nfrom users\n-- a\n-- b\n-- caf') },
    args: ['validate'],
    error: /^error: models\/users\.sql:5: the file is not valid UTF-8/,
  },
  {
    name: 'model: SQL over the size limit',
    files: { 'models/users.sql': oversized('--') + goodModel },
    args: ['validate'],
    error: /^error: models\/users\.sql: the file is \d+ bytes, over the limit/,
  },
  {
    name: 'model: metadata alias bomb',
    files: { 'models/users.yaml': aliasBomb },
    args: ['validate'],
    error: /^error: models\/users\.yaml:2: YAML aliases expand too much/,
  },
  {
    name: 'model: dangling symlink',
    prepare: (p) => symlink('gone/users.sql', join(p.dir, 'models/other.sql')),
    args: ['validate'],
    error: /^error: models\/other\.sql: symbolic link other\.sql points to nothing/,
  },
  {
    name: 'model: .yaml and .yml both',
    files: { 'models/users.yaml': 'primary_key: id\n', 'models/users.yml': 'primary_key: id\n' },
    args: ['validate'],
    error: /^error: models\/users\.yml: two files define "users"/,
  },

  // Sync files.
  {
    name: 'sync: misspelt destination',
    files: { 'syncs/users.yaml': goodSync.replace('destination:', 'destinaton:') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:2: destinaton: unknown key "destinaton"\. did you mean "destination"\?/,
  },
  {
    name: 'sync: misspelt model, with existing state',
    withState: true,
    files: { 'syncs/users.yaml': goodSync.replace('model:', 'modle:') },
    args: ['run', 'users'],
    error: /^error: syncs\/users\.yaml:1: modle: unknown key "modle"\. did you mean "model"\?/,
  },
  {
    name: 'sync: misspelt mapping',
    files: { 'syncs/users.yaml': goodSync.replace('mapping:', 'maping:') },
    args: ['plan', 'users'],
    error: /^error: syncs\/users\.yaml:4: maping: unknown key "maping"\. did you mean "mapping"\?/,
  },
  {
    name: 'sync: model named constructor',
    files: { 'syncs/users.yaml': goodSync.replace('model: users', 'model: constructor') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:1: model: model "constructor" not found/,
  },
  {
    name: 'sync: destination named __proto__',
    files: { 'syncs/users.yaml': goodSync.replace('destination: out', 'destination: __proto__') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:2: destination: destination "__proto__" is not defined/,
  },
  {
    name: 'sync: destination named toString',
    files: { 'syncs/users.yaml': goodSync.replace('destination: out', 'destination: toString') },
    args: ['run', 'users'],
    error: /^error: syncs\/users\.yaml:2: destination: destination "toString" is not defined/,
  },
  {
    name: 'sync: misspelt optional key',
    files: { 'syncs/users.yaml': goodSync + 'batchsize: 10\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: batchsize: unknown key "batchsize"\. did you mean "batch_size"\?/,
  },
  {
    name: 'sync: unknown mode',
    files: { 'syncs/users.yaml': goodSync + 'mode: replace\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: mode: "replace" is not allowed\. use one of: insert, update, upsert, mirror/,
  },
  {
    name: "sync: another connector's key",
    files: { 'syncs/users.yaml': goodSync + 'table: users\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: table: unknown key "table" for a file destination/,
  },
  {
    name: 'sync: no primary key anywhere',
    files: { 'syncs/users.yaml': goodSync.replace('primary_key: id\n', '') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:1: primary_key: no primary key is set/,
  },
  {
    name: 'sync: primary key not in the model',
    withState: true,
    files: { 'syncs/users.yaml': goodSync.replace('primary_key: id', 'primary_key: user_id') },
    args: ['plan', 'users'],
    error: /^error: syncs\/users\.yaml:3: primary_key: primary key column "user_id" is not in model users/,
  },
  {
    name: 'sync: malformed YAML',
    files: { 'syncs/users.yaml': 'model: users\nmapping:\n  email: [unclosed\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:\d+: invalid YAML/,
  },
  {
    name: 'sync: unset environment variable',
    files: { 'syncs/users.yaml': goodSync + 'description: "${HTL_UNSET_TEXT}"\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: description: environment variable HTL_UNSET_TEXT is not set/,
  },
  {
    name: 'sync: invalid UTF-8',
    files: { 'syncs/users.yaml': badUtf8('model: users\ndestination: out\nprimary_key: id\ndescription: "a"\n# caf') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:5: the file is not valid UTF-8/,
  },
  {
    name: 'sync: over the size limit',
    files: { 'syncs/users.yaml': goodSync + oversized('#') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml: the file is \d+ bytes, over the limit/,
  },
  {
    name: 'sync: alias bomb',
    files: { 'syncs/users.yaml': aliasBomb },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:2: YAML aliases expand too much/,
  },
  {
    name: 'sync: alias without anchor',
    files: { 'syncs/users.yaml': goodSync.replace('primary_key: id', 'primary_key: *id') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:3: invalid YAML: Unresolved alias/,
  },
  {
    name: 'sync: dangling symlink',
    prepare: (p) => symlink('..data/orders.yaml', join(p.dir, 'syncs/orders.yaml')),
    args: ['validate'],
    error: /^error: syncs\/orders\.yaml: symbolic link orders\.yaml points to nothing/,
  },

  // Schedules.
  {
    name: 'schedule: a 6-field cron',
    files: { 'syncs/users.yaml': goodSync + 'schedule: { cron: "0 0 * * * *" }\n' },
    args: ['validate'],
    error:
      /^error: syncs\/users\.yaml:7: schedule\.cron: "0 0 \* \* \* \*" has 6 fields; a cron expression has 5 .* drop the seconds field/,
  },
  {
    name: 'schedule: a cron field out of range',
    files: { 'syncs/users.yaml': goodSync + 'schedule:\n  cron: "61 * * * *"\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:8: schedule\.cron: "61 \* \* \* \*" is not a valid cron expression \(invalid value for minute: 61\)/,
  },
  {
    name: 'schedule: a cron that never comes',
    files: { 'syncs/users.yaml': goodSync + 'schedule: { cron: "0 0 30 2 *" }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule\.cron: "0 0 30 2 \*" never matches a date/,
  },
  {
    name: 'schedule: an unknown time zone',
    files: { 'syncs/users.yaml': goodSync + 'schedule:\n  cron: "0 * * * *"\n  timezone: Europe/Pariss\n' },
    args: ['run', 'users'],
    error: /^error: syncs\/users\.yaml:9: schedule\.timezone: "Europe\/Pariss" is not an IANA time zone\. did you mean "Europe\/Paris"\?/,
  },
  {
    name: 'schedule: a UTC offset for a zone',
    files: { 'syncs/users.yaml': goodSync + 'schedule: { cron: "0 * * * *", timezone: "+02:00" }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule\.timezone: "\+02:00" is not an IANA time zone/,
  },
  {
    name: 'schedule: an interval under a minute',
    files: { 'syncs/users.yaml': goodSync + 'schedule: { every: 30s }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule\.every: 30s is shorter than the minimum of 1m\. use 1m or more\./,
  },
  {
    name: 'schedule: an interval over a year',
    files: { 'syncs/users.yaml': goodSync + 'schedule: 400d\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule: 400d is longer than the maximum of 365d\./,
  },
  {
    name: 'failed_rows: a cadence that is not an interval',
    files: { 'syncs/users.yaml': goodSync + 'failed_rows:\n  min_interval: 20 minutes\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:8: failed_rows\.min_interval: "20 minutes" is not an interval\. write a number and a unit/,
  },
  {
    name: 'failed_rows: a backoff whose max is under its base',
    files: { 'syncs/users.yaml': goodSync + 'failed_rows:\n  backoff: { base: 1h, max: 5m }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:8: failed_rows\.backoff\.max: is shorter than backoff\.base\./,
  },
  {
    name: 'failed_rows: a timeout queue with a 6-field cron',
    files: { 'syncs/users.yaml': goodSync + 'failed_rows:\n  max_tries: 10\n  timeout_queue: { cron: "0 0 0 * * *" }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:9: failed_rows\.timeout_queue\.cron: "0 0 0 \* \* \*" has 6 fields/,
  },
  {
    name: 'failed_rows: a misspelt key',
    files: { 'syncs/users.yaml': goodSync + 'failed_rows:\n  max_retries: 10\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:8: failed_rows\.max_retries: unknown key "max_retries"\. did you mean "max_tries"\?/,
  },
  {
    name: 'retention: under a day',
    files: { 'syncs/users.yaml': goodSync + 'retention: 12h\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: retention: 12h is shorter than the minimum of 1d\./,
  },
  {
    name: 'schedule: an interval without a unit',
    files: { 'syncs/users.yaml': goodSync + 'schedule: { every: "15" }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule\.every: "15" is not an interval/,
  },
  {
    name: 'schedule: a string that is no schedule',
    withState: true,
    files: { 'syncs/users.yaml': goodSync + 'schedule: hourly\n' },
    args: ['run', 'users'],
    error: /^error: syncs\/users\.yaml:7: schedule: "hourly" is not a schedule\./,
  },
  {
    name: 'schedule: a cron nickname',
    files: { 'syncs/users.yaml': goodSync + 'schedule: "@hourly"\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule: "@hourly" has 1 field; a cron expression has 5/,
  },
  {
    name: 'schedule: a time zone for an interval',
    files: { 'syncs/users.yaml': goodSync + 'schedule: { every: 15m, timezone: Europe/Paris }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule\.timezone: applies to cron only/,
  },
  {
    name: 'schedule: both every and cron',
    files: { 'syncs/users.yaml': goodSync + 'schedule: { every: 15m, cron: "0 * * * *" }\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule: has both every and cron\. keep one of them\./,
  },
  {
    name: 'schedule: misspelt every',
    files: { 'syncs/users.yaml': goodSync + 'schedule:\n  evrey: 15m\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:8: schedule\.evrey: unknown key "evrey"\. did you mean "every"\?/,
  },
  {
    name: 'schedule: a number',
    files: { 'syncs/users.yaml': goodSync + 'schedule: 15\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:7: schedule: must be a string or a mapping, not a whole number/,
  },

  // Mappings.
  {
    name: 'mapping: empty',
    files: { 'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping: {}\n' },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:4: mapping: must not be empty/,
  },
  {
    name: 'mapping: a list for a column',
    files: { 'syncs/users.yaml': goodSync.replace('name: name', 'name: [name]') },
    args: ['validate'],
    error: /^error: syncs\/users\.yaml:6: mapping\.name: must be a string, not a list/,
  },
  {
    name: 'mapping: a column the model lacks',
    files: { 'syncs/users.yaml': goodSync.replace('name: name', 'name: full_name') },
    args: ['plan', 'users'],
    error: /^error: syncs\/users\.yaml:6: mapping\.name: column "full_name" is not in model users/,
  },
  {
    name: 'mapping: a column the model lacks, with existing state',
    withState: true,
    files: { 'syncs/users.yaml': goodSync.replace('email: email', 'email: mail') },
    args: ['plan', 'users'],
    error: /^error: syncs\/users\.yaml:5: mapping\.email: column "mail" is not in model users/,
  },

  // Sync names on the command line.
  {
    name: 'cli: run hasOwnProperty',
    args: ['run', 'hasOwnProperty'],
    error: /^error: syncs\/hasOwnProperty\.yaml: no sync named "hasOwnProperty"/,
  },
  { name: 'cli: plan constructor', args: ['plan', 'constructor'], error: /^error: syncs\/constructor\.yaml: no sync named "constructor"/ },
  {
    name: 'cli: run __proto__, with existing state',
    withState: true,
    args: ['run', '__proto__'],
    error: /^error: syncs\/__proto__\.yaml: no sync named "__proto__"/,
  },
  { name: 'cli: run without a sync name', args: ['run'], error: /^error: name at least one sync, or pass --all/ },

  // query.
  { name: 'query: empty', withState: true, args: ['query', ''], error: /^error: the query is empty\./ },
  { name: 'query: only a comment', withState: true, args: ['query', '--', '-- nothing'], error: /^error: the query is empty\./ },
  {
    name: 'query: two statements',
    withState: true,
    args: ['query', 'select 1; select 2'],
    error: /^error: query: only one read-only query is allowed \(got 2 statements\)/,
  },
  {
    name: 'query: SQL syntax error',
    withState: true,
    args: ['query', 'selec * from sync_runs'],
    error: /^error: SQL error: Parser Error: syntax error/,
  },
  {
    name: 'query: unknown table',
    withState: true,
    args: ['query', 'select * from sync_runz'],
    error: /^error: SQL error: Catalog Error: Table with name sync_runz does not exist/,
  },
  {
    name: 'query: a write',
    withState: true,
    args: ['query', 'delete from sync_runs'],
    error: /^error: query: only one read-only query is allowed \(got DELETE\)/,
  },
  {
    name: 'query: no state yet',
    args: ['query', 'select * from sync_runs'],
    error: /^error: hightouch-like\.config\.yaml: state: no state yet/,
  },
];

let project: TestProject;
afterEach(async () => project?.remove());

async function makeProject(): Promise<TestProject> {
  project = await createProject({ 'hightouch-like.config.yaml': goodConfig, 'models/users.sql': goodModel, 'syncs/users.yaml': goodSync });
  await project.warehouse(`create table users as select 1 as id, 'a@x.io' as email, 'Ann' as name`);
  return project;
}

/** Every file under `dir` with the hash of its bytes; `absent` when there is no such folder. */
async function hashTree(dir: string): Promise<string> {
  if (!existsSync(dir)) return 'absent';
  const lines: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    lines.push(
      `${path.slice(dir.length)} ${createHash('sha256')
        .update(await readFile(path))
        .digest('hex')}`,
    );
  }
  return lines.sort().join('\n');
}

describe('bad input, case by case', () => {
  let goodRun: TestProject | undefined;
  beforeAll(async () => {
    goodRun = await createProject({
      'hightouch-like.config.yaml': goodConfig,
      'models/users.sql': goodModel,
      'syncs/users.yaml': goodSync,
    });
    await goodRun.warehouse(`create table users as select 1 as id, 'a@x.io' as email, 'Ann' as name`);
    const good = await goodRun.cli(['run', 'users']);
    expect(good.code, good.stderr).toBe(0);
  });
  afterAll(async () => goodRun?.remove());

  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const p = await makeProject();
    const stateDir = join(p.dir, '.hightouch-like');
    if (c.withState) {
      // What one good run left (state and output), copied: the same bytes, without a CLI run per case.
      for (const dir of ['.hightouch-like', 'out']) await cp(join(goodRun!.dir, dir), join(p.dir, dir), { recursive: true });
    }
    for (const [file, content] of Object.entries(c.files ?? {})) {
      if (content === null) await rm(join(p.dir, file));
      else if (typeof content === 'string') await p.write(file, content);
      else await writeFile(join(p.dir, file), content);
    }
    await c.prepare?.(p);
    const before = await hashTree(stateDir);
    const outBefore = existsSync(join(p.dir, 'out'));

    const result = await p.cli(c.args);
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l !== '');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(c.error);
    expect(result.stderr).not.toMatch(/\n\s+at |Cannot read properties/);
    expect(await hashTree(stateDir), 'state unchanged').toBe(before);
    expect(existsSync(join(p.dir, 'out')), 'no output folder made').toBe(outBefore);
  });
});

describe('validate and plan write nothing', () => {
  it('validate creates neither the state file nor the output folder', async () => {
    const p = await makeProject();
    const result = await p.cli(['validate']);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(p.dir, '.hightouch-like')), 'no state').toBe(false);
    expect(existsSync(join(p.dir, 'out')), 'no output folder').toBe(false);
  });

  it('plan against an absent state counts every row as added and creates nothing', async () => {
    const p = await makeProject();
    const result = await p.cli(['plan', 'users', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)[0]).toMatchObject({ sync: 'users', added: 1, planned: 1 });
    expect(existsSync(join(p.dir, '.hightouch-like')), 'no state').toBe(false);
    expect(existsSync(join(p.dir, 'out')), 'no output folder').toBe(false);
  });

  it('validate leaves an existing state byte for byte as it was', async () => {
    const p = await makeProject();
    expect((await p.cli(['run', 'users'])).code).toBe(0);
    const before = await hashTree(join(p.dir, '.hightouch-like'));
    const result = await p.cli(['validate']);
    expect(result.code, result.stderr).toBe(0);
    expect(await hashTree(join(p.dir, '.hightouch-like'))).toBe(before);
  });
});
