/**
 * Who may use the service: beyond loopback only with a token from ${ENV}, checked on every page and API
 * request (Bearer or the login cookie); a cross-site request may change nothing; no secret is rendered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDashboardService, type DashboardService } from './support/dashboard-service.js';
import { createProject, type TestProject } from './support/project.js';

const TOKEN = 'tok-0123456789abcdef-secret';

let running: DashboardService | undefined;
let project: TestProject | undefined;
afterEach(async () => {
  await running?.close();
  await project?.remove();
  running = project = undefined;
});

describe('dashboard access', { timeout: 120_000 }, () => {
  it('refuses to start beyond loopback without a token, or with a token written in the file', async () => {
    project = await createProject({ 'hightouch-like.config.yaml': 'service: { host: 0.0.0.0 }\n' });
    const bare = await project.cli(['serve']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(
      /^error: hightouch-like\.config\.yaml:1: service\.host: 0\.0\.0\.0 is not a loopback address, and service\.token is not set/,
    );
    expect(bare.stderr.trim().split('\n')).toHaveLength(1);

    await project.write('hightouch-like.config.yaml', 'service: { host: 0.0.0.0, token: plain-text-token-1234 }\n');
    const literal = await project.cli(['serve']);
    expect(literal.code).toBe(1);
    expect(literal.stderr).toMatch(
      /^error: hightouch-like\.config\.yaml:1: service\.token: service\.token is written in the file; it must come from the environment/,
    );
    expect(literal.stderr).not.toContain('plain-text-token-1234');

    await project.write('hightouch-like.config.yaml', 'service: { host: 127.0.0.1 }\n');
    const flag = await project.cli(['serve', '--host', '0.0.0.0']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/^error: --host: 0\.0\.0\.0 is not a loopback address, and service\.token is not set/);
  });

  it('answers 401 without the token on pages and API, lets the token or the login cookie in, refuses cross-site writes, renders no secret', async () => {
    running = await startDashboardService({
      rows: 3,
      host: '0.0.0.0',
      projectYaml: 'service: { token: "${HTL_TOKEN}" }\n',
      env: { HTL_TOKEN: TOKEN },
      sink: { codeFor: () => `CODE_${TOKEN}`, rejectMessage: (key) => `row ${key} refused, token ${TOKEN}` },
    });
    const { url } = running;
    running.sink.rejectKeys(['1']);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const json = { 'content-type': 'application/json' };

    for (const path of [
      '/',
      '/failed-rows',
      '/issues',
      '/syncs/contacts',
      '/api/syncs',
      '/api/failed-rows',
      '/healthz',
      '/metrics',
      '/assets/uplot.js',
    ]) {
      expect((await fetch(url + path)).status, path).toBe(401);
      expect((await fetch(url + path, { headers: { authorization: 'Bearer wrong-token-0000000000' } })).status, path).toBe(401);
    }
    const unauthenticatedWrite = await fetch(`${url}/api/syncs/contacts/trigger`, { method: 'POST', headers: json, body: '{}' });
    expect(unauthenticatedWrite.status).toBe(401);
    expect((await fetch(`${url}/login`)).status).toBe(200);

    const trigger = await fetch(`${url}/api/syncs/contacts/trigger`, { method: 'POST', headers: { ...json, ...bearer }, body: '{}' });
    expect(trigger.status).toBe(202);
    await running.until(() => running!.finished('contacts') === 1);

    // The login form's cookie is an HMAC of the token, not the token.
    expect((await fetch(`${url}/login`, { method: 'POST', headers: json, body: JSON.stringify({ token: 'nope' }) })).status).toBe(401);
    const login = await fetch(`${url}/login`, { method: 'POST', headers: json, body: JSON.stringify({ token: TOKEN }) });
    expect(login.status).toBe(204);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^htl_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(cookie).not.toContain(TOKEN);
    const session = { cookie: cookie.split(';')[0] };
    for (const path of ['/', '/failed-rows', '/issues', '/syncs/contacts']) {
      const page = await fetch(url + path, { headers: session });
      expect(page.status, path).toBe(200);
      const text = await page.text();
      // The token reached the state through a destination's answer; it is masked wherever it shows.
      expect(text, path).not.toContain(TOKEN);
    }
    const failed = await (await fetch(`${url}/failed-rows?sync=contacts`, { headers: session })).text();
    expect(failed).toContain('row 1 refused, token');

    // Cross-site: a JSON POST from another origin, or one the browser marks cross-site, changes nothing.
    const crossOrigin = await fetch(`${url}/api/syncs/contacts/pause`, {
      method: 'POST',
      headers: { ...json, ...session, origin: 'http://evil.example' },
      body: '{}',
    });
    expect(crossOrigin.status).toBe(403);
    const crossSite = await fetch(`${url}/api/syncs/contacts/pause`, {
      method: 'POST',
      headers: { ...json, ...session, 'sec-fetch-site': 'cross-site' },
      body: '{}',
    });
    expect(crossSite.status).toBe(403);
    const form = await fetch(`${url}/api/syncs/contacts/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...session },
      body: 'reason=x',
    });
    expect(form.status).toBe(415);
    const health = await (await fetch(`${url}/api/syncs`, { headers: bearer })).json();
    expect(health[0].health).not.toBe('paused');
    const sameOrigin = await fetch(`${url}/api/syncs/contacts/pause`, {
      method: 'POST',
      headers: { ...json, ...session, origin: url },
      body: '{}',
    });
    expect(sameOrigin.status).toBe(200);
  });
});
