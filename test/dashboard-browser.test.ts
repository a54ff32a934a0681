/**
 * The dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core, against an
 * in-process `serve` (real DuckDB, a real HTTP sink on loopback, real runs; a virtual clock for its
 * schedule). Screenshots go to test-artifacts/ (ignored by git).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardService, type DashboardService } from './support/dashboard-service.js';
import { repoRoot } from './support/project.js';

const ARTIFACTS = join(repoRoot, 'test-artifacts');
const HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">';

let browser: Browser;
let running: DashboardService | undefined;
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true });
});
afterAll(async () => browser?.close());
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function runNow(s: DashboardService): Promise<void> {
  const before = s.finished('contacts');
  const response = await fetch(`${s.url}/api/syncs/contacts/trigger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(response.status).toBe(202);
  await s.until(() => s.finished('contacts') > before);
}

const keysShown = (page: Page) => page.$$eval('#failed-rows tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.key));

describe('dashboard in Chromium', { timeout: 120_000 }, () => {
  it('filters failed rows by error code, retries them, and shows them leave the index after the run', async () => {
    const codes: Record<string, string> = { '1': 'BAD_EMAIL', '2': 'BAD_EMAIL', '3': 'BAD_EMAIL', '7': 'LOCKED', '8': 'LOCKED' };
    // Failed rows wait an hour, and the clock stands still: only the retry makes them due.
    running = await startDashboardService({
      rows: 20,
      syncYaml: 'failed_rows: { min_interval: 1h }\n',
      sink: { codeFor: (key) => codes[key], rejectMessage: (key) => `row ${key} refused: ${HOSTILE}` },
    });
    const s = running;
    s.sink.rejectKeys(Object.keys(codes));
    await runNow(s);

    const page = await browser.newPage();
    await page.goto(`${s.url}/`);
    expect(await page.textContent('#syncs tbody')).toContain('contacts');
    await page.goto(`${s.url}/failed-rows`);
    expect(await keysShown(page)).toEqual(['1', '2', '3', '7', '8']);
    // A destination's error text is shown as text: no script of it ran, no element of it exists.
    expect(await page.textContent('#failed-rows')).toContain(HOSTILE);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.$$('#failed-rows img')).toHaveLength(0);

    await page.selectOption('#filter-sync', 'contacts');
    await page.selectOption('#filter-error_code', 'BAD_EMAIL');
    await Promise.all([page.waitForURL(/error_code=BAD_EMAIL/), page.click('#apply-filters')]);
    expect(await keysShown(page)).toEqual(['1', '2', '3']);
    await page.screenshot({ path: join(ARTIFACTS, 'failed-rows-filtered.png'), fullPage: true });

    // The receiver takes the BAD_EMAIL rows now; retry them from the page.
    s.sink.rejectKeys(['7', '8']);
    const before = s.finished('contacts');
    // The page reloads itself after the answer: read the answer off the wire, not the flash line.
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/syncs/contacts/retry')),
      page.click('#retry-code'),
    ]);
    expect(answer.status()).toBe(202);
    expect(await answer.json()).toMatchObject({ sync: 'contacts', rows: 3, outcome: expect.stringMatching(/^(started|waiting)$/) });
    await s.until(() => s.finished('contacts') > before);
    // The page's own reload after the action may still be under way and abort this navigation: go again then.
    const url = `${s.url}/failed-rows?sync=contacts&error_code=BAD_EMAIL`;
    await page.goto(url).catch(async (error) => {
      if (!/ERR_ABORTED/.test(String(error))) throw error;
      await page.goto(url);
    });
    expect(await keysShown(page)).toEqual([]);
    expect(await page.isVisible('#no-rows')).toBe(true);
    await page.goto(`${s.url}/failed-rows?sync=contacts`);
    expect(await keysShown(page)).toEqual(['7', '8']);
    for (const key of ['1', '2', '3']) expect(s.sink.rows.has(key)).toBe(true);

    // The run page shows the retry run's counts by operation; the sync page its chart and events.
    // The runs, newest first: the retry run sent the 3 rows only; the first one failed 5 by two codes.
    const runs = await (await fetch(`${s.url}/api/syncs/contacts/runs?limit=1`)).json();
    await page.goto(`${s.url}/runs/${runs.rows[0].run_id}`);
    expect(await page.textContent('#ops')).toMatch(/insert\s*succeeded\s*3/);
    const first = await (await fetch(`${s.url}/api/syncs/contacts/runs?limit=1&after=${runs.next}`)).json();
    await page.goto(`${s.url}/runs/${first.rows[0].run_id}`);
    expect(await page.textContent('#errors')).toMatch(/BAD_EMAIL\s*3/);
    expect(await page.textContent('#errors')).toMatch(/LOCKED\s*2/);
    await page.goto(`${s.url}/syncs/contacts`);
    await page.waitForSelector('#run-chart[data-drawn="2"]');
    expect(await page.textContent('#events')).toContain('retry');
    expect(await page.textContent('#events')).toContain('3 rows with error code BAD_EMAIL');
    await page.screenshot({ path: join(ARTIFACTS, 'sync-page.png'), fullPage: true });
    await page.goto(`${s.url}/issues`);
    expect(await page.textContent('#issues')).toContain('LOCKED');
    await page.close();
  });

  it('pauses a sync from its page, and serve skips it at its next slot', async () => {
    running = await startDashboardService({ rows: 5 });
    const s = running;
    await runNow(s);
    const sent = s.sink.received.length;

    const page = await browser.newPage();
    await page.goto(`${s.url}/syncs/contacts`);
    await page.click('#pause-contacts');
    await page.waitForSelector('#resume-contacts');
    expect(await page.textContent('.summary')).toContain('paused');
    await page.screenshot({ path: join(ARTIFACTS, 'sync-paused.png'), fullPage: true });

    await s.clock.advanceTo('2026-03-01T08:15:00Z');
    await s.until(() => s.logged.some((e) => e.msg === 'schedule_skipped' && e.sync === 'contacts'));
    expect(s.finished('contacts')).toBe(1);
    expect(s.sink.received.length).toBe(sent);
    await page.goto(`${s.url}/syncs/contacts`);
    expect(await page.textContent('#events')).toMatch(/pause/);
    await page.close();
  });
});
