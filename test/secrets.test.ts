/**
 * Secrets never leak: a value read from the environment must not show, whole or as any 8-character
 * piece, on stdout, on stderr (the JSON log) or in a text column of the state tables — whatever a
 * receiver echoes it as, and wherever a message is cut. Through the CLI, against a real HTTP receiver
 * on loopback, DuckDB state, and a PostgreSQL state URL that cannot connect.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, type CliResult, type TestProject } from './support/project.js';

let project: TestProject | undefined;
let server: Server | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

const PIECE = 8;

/** The secret and every 8-character piece of it, raw and in the encodings a receiver may echo. */
function pieces(secret: string): string[] {
  const forms = [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
  ];
  const out = new Set<string>();
  for (const form of forms) {
    out.add(form);
    for (let i = 0; i + PIECE <= form.length; i++) out.add(form.slice(i, i + PIECE));
  }
  return [...out];
}

/** The pieces of `secret` found in `text`; empty when nothing leaked. */
function leaked(text: string, secret: string): string[] {
  return pieces(secret).filter((piece) => text.includes(piece));
}

/** A receiver answering every request with `status` and `body`, both changeable between runs. */
async function startReceiver(answer: { status: number; body: string }): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`;
}

async function httpProject(): Promise<TestProject> {
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api:
    type: http
    url: \${SINK_URL}
    headers: { authorization: "Bearer \${SINK_TOKEN}" }
`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': `model: users
destination: api
primary_key: id
mapping: { email: email }
batch_size: 3
retry: { attempts: 1, base_delay_ms: 1, max_delay_ms: 2 }
`,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(1, 4)`);
  return project;
}

/** Every string value of the text columns of the state tables, read back through `query --json`. */
async function stateText(p: TestProject, env: Record<string, string>): Promise<string> {
  const values: string[] = [];
  for (const table of ['sync_runs', 'sync_changelog', 'failed_rows']) {
    const result = await p.cli(['query', `select * from ${table}`, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    for (const row of rows) for (const value of Object.values(row)) if (typeof value === 'string') values.push(value);
  }
  return values.join('\n');
}

const output = (...results: CliResult[]) => results.map((r) => `${r.stdout}\n${r.stderr}`).join('\n');

describe('a token echoed by an http receiver', () => {
  const cases = [
    {
      name: 'straddling the 200-character cut of the error excerpt',
      token: 'tok_Str4ddle_9f8e7d6c5b4a39281716050',
      echo: (token: string) => `${'e'.repeat(190)}${token} is not a valid token`,
    },
    {
      name: 'holding " and \\, echoed JSON-escaped',
      token: 'tok_"Qu0ted"\\Back\\slash_7c6b5a4938',
      echo: (token: string) => JSON.stringify({ error: `invalid token ${token}` }),
    },
    {
      name: 'echoed URL-encoded, as a URI component and as a form value',
      token: 'tok/Pl+us=4nd Sp&ce:7c6b5a49382716',
      echo: (token: string) => `bad token ${encodeURIComponent(token)} (form: ${new URLSearchParams({ token })})`,
    },
  ];

  it.each(cases)('is masked in the output and every state row when $name', async ({ token, echo }) => {
    const answer = { status: 400, body: echo(token) };
    const url = await startReceiver(answer);
    const p = await httpProject();
    const env = { SINK_URL: url, SINK_TOKEN: token };

    // 400: every row is refused → failed_rows and failed changelog rows carry the message.
    const rejected = await p.cli(['run', 'users', '--json'], env);
    expect(rejected.code, rejected.stderr).toBe(2);
    expect(JSON.parse(rejected.stdout)[0]).toMatchObject({ status: 'completed_with_errors', failed: 3 });

    // 401: the run stops → sync_runs.error, aborted changelog rows and the summary on stdout.
    answer.status = 401;
    const refused = await p.cli(['run', 'users'], env);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('error: HTTP_401');

    const state = await stateText(p, env);
    expect(state).toContain('HTTP_401');
    expect(state).toContain('***');
    expect(leaked(output(rejected, refused), token)).toEqual([]);
    expect(leaked(state, token)).toEqual([]);
  });
});

describe('a PostgreSQL state URL whose password holds a raw @', () => {
  const password = 'pw-He4d@pw-T4il-0123456789abcdef';
  const variants = [
    { name: 'from the environment', url: 'postgres://postgres:${STATE_PASSWORD}@127.0.0.1:1/test' },
    { name: 'written in the file', url: `postgres://postgres:${password}@127.0.0.1:1/test` },
  ];

  it.each(variants)('is masked whole when the connection fails ($name)', async ({ url }) => {
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
state: { type: postgres, url: "${url}" }
destinations:
  out: { type: file, path: out }
`,
      'models/users.sql': 'select * from users',
      'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping: { email: email }\n',
    });
    await project.warehouse(`create table users as select 1 as id, 'a@x.io' as email`);
    // Port 1: nothing listens, so the connection is refused and the URL is reported.
    const result = await project.cli(['run', 'users'], { STATE_PASSWORD: password });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: hightouch-like\.config\.yaml:3: state\.url: cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test: /,
    );
    expect(leaked(output(result), password)).toEqual([]);
  });
});

describe('a ${TOKEN} in a config key that does not take it', () => {
  const token = 'tok_M1splaced_9f8e7d6c5b4a392817160';

  it('is masked in an enum error, also where the shown value is cut', async () => {
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file, path: out }\n',
      'models/users.sql': 'select 1 as id, 2 as email',
      'syncs/users.yaml':
        'model: users\ndestination: out\nprimary_key: id\nmode: "upsert-for-the-crm-team-${TOKEN}"\nmapping: { email: email }\n',
    });
    const result = await project.cli(['validate'], { TOKEN: token });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('syncs/users.yaml:4: mode: "upsert-for-the-crm-team-***" is not allowed.');
    expect(leaked(output(result), token)).toEqual([]);
  });

  it('is masked in an error raised while the project is still loading', async () => {
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file, path: out }\n',
      'models/users.sql': 'select 1 as id, 2 as email',
      'syncs/users.yaml': 'model: "${TOKEN}"\ndestination: out\nprimary_key: id\nmapping: { email: email }\n',
    });
    const result = await project.cli(['validate'], { TOKEN: token });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('model "***" not found.');
    expect(leaked(output(result), token)).toEqual([]);
  });
});
