/**
 * Sync health and alerts through the real CLI: pause/resume and `run --all`, the health shown by
 * `status` and recorded in `events`, a signed webhook checked by a loopback receiver, a Slack text, an
 * email received by a real SMTP server over STARTTLS, and a channel that is down.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { startAlertReceiver, verifySignature, type AlertReceiver } from './support/alert-receiver.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, logEvents, type TestProject } from './support/project.js';
import { closedPort } from './support/closed-port.js';

const HOOK_SECRET = 'whsec-5d1c0a9e7b3f4a2c8e6d';
const API_TOKEN = 'api-token-9f8e7d6c5b4a3210';

let project: TestProject | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await project?.remove();
  project = undefined;
});

async function sink(): Promise<HttpSink> {
  const s = await startHttpSink();
  closers.push(() => s.close());
  return s;
}

async function receiver(): Promise<AlertReceiver> {
  const r = await startAlertReceiver(HOOK_SECRET);
  closers.push(() => r.close());
  return r;
}

const syncYaml = (model: string, extra = '') => `model: ${model}\ndestination: api\nprimary_key: id\nmapping: { email: email }\n${extra}`;

async function setup(alerts: string, syncs: Record<string, string> = { 'syncs/users.yaml': syncYaml('users') }): Promise<TestProject> {
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "\${SINK_URL}", headers: { authorization: "Bearer \${API_TOKEN}" }, retry: { attempts: 1 } }
${alerts}`,
    'models/users.sql': 'select * from users',
    ...syncs,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(5)`);
  return project;
}

async function query(env: Record<string, string>, sqlText: string): Promise<Record<string, unknown>[]> {
  const result = await project!.cli(['query', sqlText, '--json'], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe('pause and resume', () => {
  it('skips a paused sync in run --all with a message, shows it in status, and records each change in events', async () => {
    const s = await sink();
    const hook = await receiver();
    const env = { SINK_URL: s.url, API_TOKEN, HOOK_SECRET };
    await setup(`alerts:\n  channels:\n    ops: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }\n`, {
      'syncs/users.yaml': syncYaml('users'),
      'syncs/others.yaml': syncYaml('users', 'description: the same rows again\n'),
    });

    const paused = await project!.cli(['pause', 'users', '--reason', 'CRM maintenance'], env);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('users: paused');
    expect((await project!.cli(['pause', 'users'], env)).stdout).toContain('users: already paused');

    const run = await project!.cli(['run', '--all', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const reports = JSON.parse(run.stdout);
    const users = reports.find((r: { sync: string }) => r.sync === 'users');
    expect(users).toMatchObject({ status: 'skipped', run_id: null, sent: 0 });
    expect(users.error).toMatch(
      /^sync users is paused \(by hand since \S+: CRM maintenance\); skipped\. Resume it with: hightouch-like resume users$/,
    );
    expect(reports.find((r: { sync: string }) => r.sync === 'others')).toMatchObject({ status: 'succeeded', succeeded: 5 });
    expect(logEvents(run.stderr).filter((e) => e.msg === 'sync_skipped')).toEqual([expect.objectContaining({ sync: 'users' })]);
    expect(new Set(s.received.map((r) => r.sync))).toEqual(new Set(['others']));

    const text = await project!.cli(['run', 'users'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^users: skipped — sync users is paused/);

    const status = JSON.parse((await project!.cli(['status', '--json'], env)).stdout);
    expect(status.find((r: { sync: string }) => r.sync === 'users')).toMatchObject({
      health: 'paused',
      health_reason: 'CRM maintenance',
      last_run_id: null,
    });
    expect(status.find((r: { sync: string }) => r.sync === 'others')).toMatchObject({ health: 'healthy', consecutive_failed_runs: 0 });

    expect((await project!.cli(['resume', 'users'], env)).stdout).toContain('users: resumed');
    const again = await project!.cli(['run', '--all', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).map((r: { status: string }) => r.status)).toEqual(['succeeded', 'succeeded']);

    expect(await query(env, `select sync_name, from_state, to_state, reason from events order by "at", sync_name`)).toEqual([
      { sync_name: 'users', from_state: null, to_state: 'paused', reason: 'CRM maintenance' },
      { sync_name: 'others', from_state: null, to_state: 'healthy', reason: 'the last run succeeded' },
      { sync_name: 'users', from_state: 'paused', to_state: 'healthy', reason: 'resumed' },
    ]);
    // A pause by hand is no alert, and its end is no recovery: nothing was sent.
    expect(hook.received).toEqual([]);
  });
});

describe('webhook and slack', () => {
  it('sends one signed alert when most rows are rejected, the codes with remediation, no secret; then one recovery', async () => {
    const s = await sink();
    s.rejectKeys(['0', '1', '2', '3']);
    const hook = await receiver();
    const slack = await receiver();
    const env = { SINK_URL: s.url, API_TOKEN, HOOK_SECRET, SLACK_URL: slack.url };
    await setup(`alerts:
  channels:
    ops: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
    team: { type: slack, url: "\${SLACK_URL}" }
`);
    const first = await project!.cli(['run', 'users', '--json'], env);
    expect(first.code).toBe(2);
    expect(JSON.parse(first.stdout)[0]).toMatchObject({ status: 'completed_with_errors', failed: 4, succeeded: 1 });
    // The CLI flushed the deliveries before it exited.
    expect(hook.received).toHaveLength(1);
    const [alert] = hook.received;
    expect(alert.verified).toBe(true);
    expect(verifySignature(HOOK_SECRET, alert.signature, alert.raw.replace('warning', 'healthy'), Math.floor(Date.now() / 1000))).toBe(
      false,
    );
    expect(verifySignature('another-secret-of-16+', alert.signature, alert.raw, Math.floor(Date.now() / 1000))).toBe(false);
    expect(alert.body).toMatchObject({
      kind: 'alert',
      trigger: 'rejected_share',
      sync: 'users',
      state: 'warning',
      previous_state: null,
      reason: '4 of 5 rows sent were rejected (80.0%)',
      consecutive_runs_with_rejected_rows: 1,
      errors: [{ code: 'HTTP_ROW_REJECTED', count: 4, remediation: expect.stringMatching(/\w/) }],
    });
    expect(alert.raw).not.toContain(API_TOKEN);
    expect(alert.raw).not.toContain(HOOK_SECRET);
    const text = slack.received[0].body.text as string;
    expect(text).toMatch(/^sync users is warning: most rows were rejected/);
    expect(text).toContain('- HTTP_ROW_REJECTED × 4: ');
    expect(text).not.toMatch(/<|https?:\/\//);

    // Still rejected: the same alert is not sent again.
    await project!.warehouse(`update users set email = 'v' || id || '@x.io'`);
    expect((await project!.cli(['run', 'users'], env)).code).toBe(2);
    expect(hook.received).toHaveLength(1);

    s.rejectKeys([]);
    expect((await project!.cli(['run', 'users'], env)).code).toBe(0);
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1].verified).toBe(true);
    expect(hook.received[1].body).toMatchObject({
      kind: 'recovery',
      trigger: 'rejected_share',
      state: 'healthy',
      previous_state: 'warning',
    });
    expect(slack.received.map((r) => r.body.text)).toEqual([
      text,
      'sync users recovered: healthy again\nReason: the last run succeeded\nSince: ' +
        hook.received[1].body.since +
        '; last run: ' +
        hook.received[1].body.run_id,
    ]);
    const deliveries = await query(env, 'select channel, kind, status, attempts from alert_deliveries order by created_at, channel');
    expect(deliveries).toEqual([
      { channel: 'ops', kind: 'alert', status: 'delivered', attempts: 1 },
      { channel: 'team', kind: 'alert', status: 'delivered', attempts: 1 },
      { channel: 'ops', kind: 'recovery', status: 'delivered', attempts: 1 },
      { channel: 'team', kind: 'recovery', status: 'delivered', attempts: 1 },
    ]);
  });

  it('leaves the run result alone when the channel is down: the delivery is retried, logged and recorded failed', async () => {
    const env = { SINK_URL: `http://127.0.0.1:${await closedPort()}/`, API_TOKEN, HOOK_SECRET };
    await setup(`alerts:
  triggers: { run_failed: true }
  retry: { attempts: 3, base_delay_ms: 1, max_delay_ms: 2 }
  channels:
    ops: { type: webhook, url: "http://127.0.0.1:${await closedPort()}/hook", secret: "\${HOOK_SECRET}" }
`);
    const run = await project!.cli(['run', 'users', '--json'], env);
    expect(run.code).toBe(1);
    const [report] = JSON.parse(run.stdout);
    expect(report).toMatchObject({ status: 'failed', sent: 0, error_class: 'transient', error_code: 'HTTP_NETWORK' });
    expect(report.error).toMatch(/destination "api" \(http\) is not usable/);
    const log = logEvents(run.stderr);
    expect(log.filter((e) => e.msg === 'alert_delivery_retry').map((e) => e.attempt)).toEqual([1, 2]);
    expect(log.filter((e) => e.msg === 'alert_delivery_failed')).toEqual([
      expect.objectContaining({
        sync: 'users',
        channel: 'ops',
        trigger: 'run_failed',
        attempt: 3,
        error: expect.stringMatching(/ECONNREFUSED/),
      }),
    ]);
    expect(await query(env, 'select kind, "trigger", state, status, attempts, last_error from alert_deliveries')).toEqual([
      {
        kind: 'alert',
        trigger: 'run_failed',
        state: 'failing',
        status: 'failed',
        attempts: 3,
        last_error: expect.stringMatching(/ECONNREFUSED/),
      },
    ]);
    expect(
      await query(
        env,
        'select health, consecutive_failed_runs, open_alert from (select 1) t, (select state as health, consecutive_failures as consecutive_failed_runs, alert as open_alert from sync_health)',
      ),
    ).toEqual([{ health: 'failing', consecutive_failed_runs: 1, open_alert: 'run_failed' }]);
  });
});

describe('email', () => {
  it('delivers the alert through a real SMTP server, over STARTTLS with the password from the environment', async () => {
    const { dir } = await setup('');
    // A certificate for 127.0.0.1, made for this test; the channel trusts it through ca_file.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'smtp.key'),
        '-out',
        join(dir, 'smtp.pem'),
      ],
      { stdio: 'ignore' },
    );
    const mails: { from: string; to: string[]; data: string; secure: boolean; user: string | undefined }[] = [];
    const server = new SMTPServer({
      key: readFileSync(join(dir, 'smtp.key')),
      cert: readFileSync(join(dir, 'smtp.pem')),
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        if (auth.username === 'alerts' && auth.password === 'smtp-pass-8c7b6a5d4e3f') return callback(null, { user: auth.username });
        callback(new Error('bad credentials'));
      },
      onData(stream, session, callback) {
        let data = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => (data += chunk));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data,
            secure: session.secure,
            user: session.user as string | undefined,
          });
          callback();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.server.address() as { port: number }).port;
    const env = {
      SINK_URL: `http://127.0.0.1:${await closedPort()}/`,
      API_TOKEN,
      SMTP_USER: 'alerts',
      SMTP_PASSWORD: 'smtp-pass-8c7b6a5d4e3f',
    };
    await project!.write(
      'hightouch-like.config.yaml',
      `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "\${SINK_URL}" }
alerts:
  triggers: { run_failed: true }
  channels:
    oncall:
      type: email
      host: 127.0.0.1
      port: ${port}
      tls: starttls
      ca_file: smtp.pem
      user: \${SMTP_USER}
      password: \${SMTP_PASSWORD}
      from: hightouch-like@example.com
      to: [oncall@example.com]
`,
    );
    const run = await project!.cli(['run', 'users'], env);
    expect(run.code).toBe(1);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: 'hightouch-like@example.com', to: ['oncall@example.com'], secure: true, user: 'alerts' });
    // Headers unfolded, the quoted-printable body decoded.
    const [head, body] = mails[0].data.split(/\r?\n\r?\n/, 2);
    const qp = body.replace(/=\r?\n/g, '');
    const bytes: number[] = [];
    for (let i = 0; i < qp.length; i++) {
      if (qp[i] === '=') {
        bytes.push(Number.parseInt(qp.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(qp.charCodeAt(i));
    }
    const decoded = Buffer.from(bytes).toString('utf8').replace(/\r\n/g, '\n');
    expect(head.replace(/\r?\n /g, ' ')).toMatch(
      /^Subject: \[hightouch-like\] sync users is failing: a run failed \(1 failed run in a row\)$/m,
    );
    expect(decoded).toContain('Reason: hightouch-like.config.yaml:3: destinations.api: destination "api" (http) is not usable');
    expect(decoded).toContain('Top errors:\n- HTTP_NETWORK × 1: The receiver could not be reached');
    expect(mails[0].data).not.toContain('smtp-pass-8c7b6a5d4e3f');
  });
});

describe('bad alert config', () => {
  it('names the file, line and field of an unknown channel, a bad reminder and cleartext SMTP', async () => {
    await setup(
      `alerts:
  channels:
    ops: { type: webhook, url: "http://127.0.0.1:9/hook", secret: "\${HOOK_SECRET}" }
    mail: { type: email, host: smtp.example.com, tls: none, from: a@example.com, to: [b@example.com] }
`,
      { 'syncs/users.yaml': syncYaml('users', 'alerts:\n  channels: [opps]\n') },
    );
    const env = { SINK_URL: 'http://127.0.0.1:9/', API_TOKEN, HOOK_SECRET };
    const tls = await project!.cli(['validate'], env);
    expect(tls.code).toBe(1);
    expect(tls.stderr).toMatch(/^error: hightouch-like\.config\.yaml:7: alerts\.channels\.mail\.tls: none would send/);
    expect(tls.stderr.trim().split('\n')).toHaveLength(1);

    await project!.write(
      'hightouch-like.config.yaml',
      `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "\${SINK_URL}" }
alerts:
  reminder: daily
  channels:
    ops: { type: webhook, url: "http://127.0.0.1:9/hook", secret: "\${HOOK_SECRET}" }
`,
    );
    const reminder = await project!.cli(['validate'], env);
    expect(reminder.stderr).toMatch(/^error: hightouch-like\.config\.yaml:5: alerts\.reminder: "daily" is not an interval/);

    await project!.write(
      'hightouch-like.config.yaml',
      (await import('node:fs')).readFileSync(join(project!.dir, 'hightouch-like.config.yaml'), 'utf8').replace('  reminder: daily\n', ''),
    );
    const channel = await project!.cli(['run', 'users'], env);
    expect(channel.code).toBe(1);
    expect(channel.stderr).toMatch(
      /^error: syncs\/users\.yaml:5: alerts\.channels: "opps" is not a channel of the project channels under alerts\.channels in the project file: ops\.$/m,
    );
    await project!.write('syncs/users.yaml', syncYaml('users'));
    expect((await project!.cli(['pause', 'nope'], env)).stderr).toMatch(/^error: syncs\/nope\.yaml: no sync named "nope"/);
  });
});
