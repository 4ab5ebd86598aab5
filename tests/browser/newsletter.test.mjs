// Browser test of newsletters: compose (with a template error shown first), preview,
// send, and watch the progress on the page refresh itself until done (development mode:
// the messages go to the outbox). axe-core checks the pages for serious and critical
// WCAG 2.1 A/AA violations.

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
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'talentpool-newsletter-'));
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

test('the secretariat composes, previews and sends a newsletter and watches it finish', { timeout: 120_000 }, async () => {
  const login = appLog.match(/Admin login:\s+(\S+) \/ (\S+)/);
  assert.ok(login, `no admin login printed at first start:\n${appLog}`);
  const [, email, password] = login;
  const seeded = spawnSync(APP_BIN, ['seed', '--candidates', '60'], { env, encoding: 'utf8' });
  assert.equal(seeded.status, 0, `seed failed:\n${seeded.stdout}\n${seeded.stderr}`);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.url()}`); });

  await page.goto(`${baseUrl}/admin/login`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${baseUrl}/admin`), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.getByLabel('Save this filter as a segment').fill('Everyone');
  await Promise.all([page.waitForURL(/saved=/), page.getByRole('button', { name: 'Save segment' }).click()]);

  await page.goto(`${baseUrl}/admin/newsletters`);
  await assertAccessible(page, 'the newsletter archive');
  await Promise.all([page.waitForURL(/\/admin\/newsletters\/new$/), page.getByRole('link', { name: 'New newsletter' }).click()]);
  await page.getByLabel('Subject').fill('Jobs in Oslo for {{ candidate.first_name }}');
  const segment = page.getByLabel('Segment');
  const option = (await segment.locator('option', { hasText: 'Everyone' }).textContent()).trim();
  const audience = Number(option.match(/\((\d+) recipients\)/)[1]);
  assert.ok(audience > 0 && audience <= 60, `the audience is shown before sending: ${option}`);
  await segment.selectOption({ label: option });
  await page.getByLabel('Text (Markdown)').fill('Hello {{ candidate.first_name }},\n\nnew jobs: {{ candidate.frist_name }}\n\n[Unsubscribe]({{ unsubscribe_url }})');
  await page.getByRole('button', { name: 'Save draft' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /Line 3: unknown variable `candidate\.frist_name`/);
  await assertAccessible(page, 'the compose page with an error');
  await page.getByLabel('Text (Markdown)').fill('Hello {{ candidate.first_name }},\n\nnew jobs in **Oslo**.\n\n[Unsubscribe]({{ unsubscribe_url }})');
  await Promise.all([page.waitForURL(/\/admin\/newsletters\/\d+$/), page.getByRole('button', { name: 'Save draft' }).click()]);

  assert.match(await page.locator('#preview-text').textContent(), /Hello Ada,/);
  await page.getByLabel(/Render for candidate number/).fill('1');
  await Promise.all([page.waitForURL(/candidate=1/), page.getByRole('button', { name: 'Preview' }).click()]);
  assert.match(await page.locator('#preview-subject').textContent(), /^Jobs in Oslo for \S+$/);
  await assertAccessible(page, 'the newsletter page');

  await page.getByRole('button', { name: `Send now to ${audience} recipients` }).click();
  // The page polls /admin/newsletters/{id}/progress and updates itself.
  await page.locator('[data-field=status]', { hasText: 'done' }).waitFor({ timeout: 60_000 });
  assert.equal(Number(await page.locator('[data-field=sent]').textContent()), audience);
  assert.equal(Number(await page.locator('[data-field=queued]').textContent()), 0);
  assert.equal(await page.getByRole('button', { name: 'Pause' }).count(), 0, 'a finished newsletter offers no pause');
  await assertAccessible(page, 'the newsletter page when done');
  await page.screenshot({ path: '/tmp/browser-newsletter-done.png', fullPage: true });

  assert.deepEqual(problems, [], 'the browser saw errors');
  await context.close();
});
