// Browser test of the company portal: the secretariat forwards candidates to a company
// and invites a recruiter; the recruiter takes the link from the invitation received by
// a real SMTP server, sets a password, signs in, accepts the terms of use, filters the
// list, opens a candidate, sets a status and writes a note; the secretariat then sees
// that note on the candidate's page. axe-core checks every portal page for serious and
// critical WCAG 2.1 A/AA violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { APP_BIN, assertAccessible, freePort, launchBrowser, waitForHealthy, startMailCatcher } from './support.mjs';

const RECRUITER = 'kari@fjord.example.no';
const PASSWORD = 'a long recruiter password';
const NOTE = 'Strong candidate; invite to a first interview.';

let dataDir;
let smtp;
let app;
let appLog = '';
let baseUrl;
let browser;
let env;

async function api(token, method, urlPath, body) {
  const response = await fetch(`${baseUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.status < 300, `${method} ${urlPath}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

before(async () => {
  assert.ok(fs.existsSync(APP_BIN), `talentpool binary not found at ${APP_BIN}`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'talentpool-portal-'));
  smtp = await startMailCatcher();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = { ...process.env };
  delete env.DATABASE_URL;
  Object.assign(env, {
    APP_ENV: 'development',
    DATA_DIR: dataDir,
    PORT: String(port),
    BASE_URL: baseUrl,
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
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
  if (smtp) await smtp.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a recruiter accepts an invitation, works on a candidate, and the secretariat sees the note', { timeout: 180_000 }, async () => {
  const login = appLog.match(/Admin login:\s+(\S+) \/ (\S+)/);
  assert.ok(login, `no admin login printed at first start:\n${appLog}`);
  const [, adminEmail, adminPassword] = login;
  const seeded = spawnSync(APP_BIN, ['seed', '--candidates', '60'], { env, encoding: 'utf8' });
  assert.equal(seeded.status, 0, `seed failed:\n${seeded.stdout}\n${seeded.stderr}`);
  const minted = spawnSync(APP_BIN, ['create-api-token', '--name', 'browser test'], { env, encoding: 'utf8' });
  assert.equal(minted.status, 0, `create-api-token failed:\n${minted.stderr}`);
  const token = minted.stdout.trim().split('\n').pop().trim();

  // The secretariat: a company, a recruiter, and forwarded candidates.
  const company = await api(token, 'POST', '/api/v1/companies', { name: 'Fjord Software AS', org_number: '923609016' });
  await api(token, 'POST', `/api/v1/companies/${company.id}/users`, { email: RECRUITER, name: 'Kari Nordmann' });
  const shareable = await api(token, 'GET', '/api/v1/candidates?confirmed=true&consent_share=true&limit=20');
  assert.ok(shareable.items.length >= 4, 'enough seeded candidates may be shared');
  const forwarded = await api(token, 'POST', '/api/v1/forwards', {
    company_ids: [company.id],
    candidate_ids: shareable.items.map((c) => c.id),
  });
  assert.equal(forwarded.forwarded, shareable.items.length);
  const euCount = shareable.items.filter((c) => c.eu_status === 'eu_eea').length;
  const [filterValue, filterLabel, expected] = euCount > 0
    ? ['eu_eea', 'EU/EEA', euCount]
    : ['non_eu', 'Non-EU', shareable.items.length];

  // The recruiter: the link from the invitation email.
  const mail = await smtp.waitFor(RECRUITER, 45_000);
  const links = (mail.parsed.text || '').match(/https?:\/\/\S+/g) || [];
  const inviteUrl = links.find((l) => l.startsWith(`${baseUrl}/portal/invite/`));
  assert.ok(inviteUrl, `no invitation link in:\n${mail.parsed.text}`);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`HTTP ${r.status()} ${r.url()}`); });

  await page.goto(inviteUrl);
  await page.getByRole('heading', { name: 'Set your password' }).waitFor();
  await assertAccessible(page, 'the invitation page');
  await page.getByLabel('New password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('New password again', { exact: true }).fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/portal\/login/), page.getByRole('button', { name: 'Set password' }).click()]);
  await assertAccessible(page, 'the portal sign-in page');
  await page.getByLabel('Email address').fill(RECRUITER);
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForURL(`${baseUrl}/portal/terms`), page.getByRole('button', { name: 'Sign in' }).click()]);
  await assertAccessible(page, 'the terms of use');
  await page.getByLabel('I accept the terms of use').check();
  await Promise.all([page.waitForURL(`${baseUrl}/portal`), page.getByRole('button', { name: 'Continue' }).click()]);
  await page.getByRole('heading', { name: 'Candidates for Fjord Software AS' }).waitFor();
  assert.equal(await page.locator('tbody tr').count(), shareable.items.length);
  await assertAccessible(page, 'the candidate list');

  await page.getByLabel('EU/EEA status').selectOption(filterValue);
  await Promise.all([page.waitForURL(new RegExp(`eu_status=${filterValue}`)), page.getByRole('button', { name: 'Filter' }).click()]);
  const statuses = await page.locator('tbody tr td:nth-child(4)').allTextContents();
  assert.equal(statuses.length, expected, 'the filter keeps the matching candidates');
  assert.ok(statuses.every((s) => s.trim() === filterLabel), `only ${filterLabel} rows: ${statuses}`);

  const first = page.locator('tbody a').first();
  const name = (await first.textContent()).trim();
  await Promise.all([page.waitForURL(/\/portal\/candidates\/\d+$/), first.click()]);
  const candidateId = page.url().split('/').pop();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await assertAccessible(page, 'a candidate profile');

  await page.getByLabel('Status for this candidate').selectOption('interested');
  await Promise.all([page.waitForURL(/saved=status/), page.getByRole('button', { name: 'Save status' }).click()]);
  await page.getByText('Status: Interested').waitFor();
  await page.getByLabel('New note').fill(NOTE);
  await Promise.all([page.waitForURL(/saved=note/), page.getByRole('button', { name: 'Save note' }).click()]);
  await page.locator('.note-body', { hasText: NOTE }).waitFor();
  await assertAccessible(page, 'a candidate profile after saving');
  await page.screenshot({ path: '/tmp/browser-portal-candidate.png', fullPage: true });
  assert.deepEqual(problems, [], 'the recruiter\'s browser saw errors');
  await context.close();

  // The secretariat sees the company's status and note.
  const staff = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const admin = await staff.newPage();
  await admin.goto(`${baseUrl}/admin/login`);
  await admin.getByLabel('Email address').fill(adminEmail);
  await admin.getByLabel('Password').fill(adminPassword);
  await Promise.all([admin.waitForURL(`${baseUrl}/admin`), admin.getByRole('button', { name: 'Sign in' }).click()]);
  await admin.goto(`${baseUrl}/admin/candidates/${candidateId}`);
  await admin.getByRole('heading', { name: 'Companies' }).waitFor();
  await admin.locator('.note-body', { hasText: NOTE }).waitFor();
  await admin.getByText('Fjord Software AS set the status to “Interested”').waitFor();
  await assertAccessible(admin, 'the candidate page with company notes');
  await admin.goto(`${baseUrl}/admin/companies/${company.id}`);
  await admin.getByRole('heading', { name: 'Funnel' }).waitFor();
  await assertAccessible(admin, 'the company page');
  // The pool offers forwarding of selected rows once a company exists.
  await admin.goto(`${baseUrl}/admin`);
  await admin.getByRole('button', { name: 'Forward selected' }).waitFor();
  await assertAccessible(admin, 'the pool with its forwarding form');
  const pick = admin.locator('input[name="candidate_ids"]').first();
  await pick.check();
  await admin.getByLabel('Forward the selected candidates to').selectOption(String(company.id));
  await Promise.all([admin.waitForURL(`${baseUrl}/admin/forwards`), admin.getByRole('button', { name: 'Forward selected' }).click()]);
  await admin.getByRole('heading', { name: 'Forwarding' }).waitFor();
  // Forwarded, or reported as skipped with a reason: either way one line says so.
  const said = await admin.locator('#forwarded-count, .skipped li').count();
  assert.ok(said > 0, 'the result page reports the outcome');
  await assertAccessible(admin, 'the forwarding result');
  await staff.close();
});
