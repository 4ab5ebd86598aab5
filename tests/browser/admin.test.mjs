// Browser test of the back office: the development login printed at first start,
// signing in, filtering the pool by profession and EU/EEA status, saving the filter as
// a segment, and opening a candidate. axe-core checks the pages for serious and
// critical WCAG 2.1 A/AA violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { APP_BIN, assertAccessible, freePort, launchBrowser, waitForHealthy } from './support.mjs';


let dataDir;
let app;
let appLog = '';
let baseUrl;
let browser;
let env;

before(async () => {
  assert.ok(fs.existsSync(APP_BIN), `talentpool binary not found at ${APP_BIN}`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'talentpool-admin-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.SMTP_URL;
  Object.assign(env, {
    APP_ENV: 'development',
    DATA_DIR: dataDir,
    PORT: String(port),
    BASE_URL: baseUrl,
    SECRET_KEY: 'browser-test-secret-key-0123456789abcdef',
    JOB_POLL_MILLIS: '50',
  });
  app = spawn(APP_BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  app.stdout.on('data', (chunk) => { appLog += chunk; });
  app.stderr.on('data', (chunk) => { appLog += chunk; });
  await waitForHealthy(`${baseUrl}/healthz`, 60_000, app, () => appLog);
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (app && app.exitCode === null) {
    const exited = once(app, 'exit');
    app.kill('SIGTERM');
    await exited;
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the secretariat signs in, filters the pool, saves a segment and opens a candidate', { timeout: 120_000 }, async () => {
  // The development login is printed once, at the first start.
  const login = appLog.match(/Admin login:\s+(\S+) \/ (\S+)/);
  assert.ok(login, `no admin login printed at first start:\n${appLog}`);
  const [, email, password] = login;

  // Fake candidates, seeded while the app runs.
  const seeded = spawnSync(APP_BIN, ['seed', '--candidates', '150'], { env, encoding: 'utf8' });
  assert.equal(seeded.status, 0, `seed failed:\n${seeded.stdout}\n${seeded.stderr}`);
  assert.match(seeded.stdout, /seeded 150 candidates/);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.url()}`); });

  await page.goto(`${baseUrl}/admin`);
  assert.ok(page.url().startsWith(`${baseUrl}/admin/login`), `not sent to the login page: ${page.url()}`);
  await assertAccessible(page, 'the login page');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${baseUrl}/admin`), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.getByRole('heading', { name: 'The pool' }).waitFor();
  const all = Number(await page.locator('#match-count').textContent());
  assert.equal(all, 150, 'every seeded candidate is in the pool');
  await assertAccessible(page, 'the pool page');

  await page.getByLabel('Profession').selectOption('2');
  await page.getByLabel('EU/EEA status').selectOption('eu_eea');
  await Promise.all([page.waitForURL(/eu_status=eu_eea/), page.getByRole('button', { name: 'Filter' }).click()]);
  assert.match(page.url(), /profession=2(&|$)/);
  const filtered = page.url();
  const matches = Number(await page.locator('#match-count').textContent());
  assert.ok(matches > 0 && matches < all, `a narrower selection expected, got ${matches} of ${all}`);
  const statuses = await page.locator('tbody tr td:nth-child(3)').allTextContents();
  assert.ok(statuses.length > 0 && statuses.every((s) => s.trim() === 'EU/EEA'), `only EU/EEA rows: ${statuses}`);

  await page.getByLabel('Save this filter as a segment').fill('EU professionals');
  await Promise.all([page.waitForURL(/saved=/), page.getByRole('button', { name: 'Save segment' }).click()]);
  await page.goto(`${baseUrl}/admin/segments`);
  const row = page.locator('tbody tr', { hasText: 'EU professionals' });
  assert.equal((await row.locator('.segment-count').textContent()).trim(), String(matches));
  await assertAccessible(page, 'the segments page');

  await page.goto(filtered);
  const first = page.locator('tbody a').first();
  const name = (await first.textContent()).trim();
  await Promise.all([page.waitForURL(/\/admin\/candidates\/\d+$/), first.click()]);
  await page.getByRole('heading', { name }).waitFor();
  await page.getByRole('heading', { name: 'Timeline' }).waitFor();
  await assertAccessible(page, 'a candidate page');
  await page.screenshot({ path: '/tmp/browser-admin-candidate.png', fullPage: true });

  assert.deepEqual(problems, [], 'the browser saw errors');
  await context.close();
});

test('the secretariat edits a campaign: targets, live preview under the real CSP, landing preview', { timeout: 120_000 }, async () => {
  const [, email, password] = appLog.match(/Admin login:\s+(\S+) \/ (\S+)/);
  // No bypassCSP here: the live preview must work under the page's own policy.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  await page.goto(`${baseUrl}/admin/login`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${baseUrl}/admin`), page.getByRole('button', { name: 'Sign in' }).click()]);

  await page.goto(`${baseUrl}/admin/campaigns/new`);
  await page.getByLabel('Title').fill('Nurses for Bergen');
  await page.getByLabel('Address').fill('nurses-bergen');
  assert.equal(await page.locator('#campaign-preview-section').isHidden(), true);
  await page.getByLabel('Text (Markdown)').fill('## Care in Bergen\n\n**Shifts** that fit your life');
  // The preview follows the typing without a page load.
  await page.locator('#campaign-preview h2', { hasText: 'Care in Bergen' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#campaign-preview strong').textContent(), 'Shifts');
  assert.equal(page.url(), `${baseUrl}/admin/campaigns/new`);
  await page.getByLabel('Professions the campaign recruits for (optional)').selectOption(['2221', '3221']);
  await Promise.all([page.waitForURL(/\/admin\/campaigns\/\d+$/), page.getByRole('button', { name: 'Save' }).click()]);
  const targets = await page.locator('ul.targets li').allTextContents();
  assert.deepEqual(targets, ['Nursing professionals (2221)', 'Nursing associate professionals (3221)']);

  await page.getByRole('link', { name: 'Preview it' }).click();
  await page.getByRole('heading', { name: 'Nurses for Bergen' }).waitFor();
  const firstGroup = page.locator('#profession optgroup').first();
  assert.equal(await firstGroup.getAttribute('label'), 'Wanted in this campaign');
  assert.deepEqual(await firstGroup.locator('option').allTextContents(), ['Nursing professionals', 'Nursing associate professionals']);
  assert.equal(await page.getByRole('button', { name: 'Join the talent pool' }).isDisabled(), true);
  const landingPreview = page.url();
  const editor = landingPreview.replace(/\/landing$/, '/edit');
  assert.deepEqual(problems, [], 'the browser saw errors');
  await context.close();

  // axe needs its script injected, so it runs in a context that bypasses the CSP.
  const axeContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const axePage = await axeContext.newPage();
  await axePage.goto(`${baseUrl}/admin/login`);
  await axePage.getByLabel('Email address').fill(email);
  await axePage.getByLabel('Password').fill(password);
  await Promise.all([axePage.waitForURL(`${baseUrl}/admin`), axePage.getByRole('button', { name: 'Sign in' }).click()]);
  await axePage.goto(editor);
  await assertAccessible(axePage, 'the campaign editor');
  await axePage.goto(landingPreview);
  await assertAccessible(axePage, 'the landing-page preview');
  await axeContext.close();
});
