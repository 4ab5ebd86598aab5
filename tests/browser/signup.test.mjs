// Browser end-to-end test of the candidate sign-up flow, on a phone-sized screen:
// landing page -> empty submit (errors) -> filled submit -> confirmation email over
// real SMTP -> confirmation link. axe-core checks every page for serious and critical
// WCAG 2.1 A/AA violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

const APP_BIN = process.env.TALENTPOOL_BIN
  ? path.resolve(process.env.TALENTPOOL_BIN)
  : path.resolve(here, '../../target/debug/talentpool');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const LANDING_SCREENSHOT = '/tmp/browser-landing.png';
const CONFIRMED_SCREENSHOT = '/tmp/browser-confirmed.png';
const CAMPAIGN = '/c/software-developers';

// Shared state, set up in before() and torn down in after().
let dataDir;
let smtp;
let app;
let appLog = '';
let baseUrl;
let browser;
const mails = [];
const mailWaiters = [];
// The address the sign-up test registered, for the self-service test after it.
let signedUpEmail;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function startSmtp() {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1000,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const mail = {
            envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            parsed,
          };
          mails.push(mail);
          for (const waiter of mailWaiters.splice(0)) waiter();
          callback();
        })
        .catch(callback);
    },
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Resolves with the first received mail addressed to `address`, or rejects after `ms`. */
function waitForMail(address, ms) {
  const find = () => mails.find((m) => m.envelopeTo.includes(address.toLowerCase()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no email to ${address} within ${ms} ms (received ${mails.length} other mails)`));
    }, ms);
    const check = () => {
      const mail = find();
      if (mail) {
        clearTimeout(timer);
        resolve(mail);
      } else {
        mailWaiters.push(check);
      }
    };
    check();
  });
}

function appLogTail(lines = 40) {
  return appLog.trimEnd().split('\n').slice(-lines).join('\n');
}

async function waitForHealthy(url, ms) {
  const deadline = Date.now() + ms;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (app.exitCode !== null || app.signalCode !== null) {
      throw new Error(`talentpool exited (${app.exitCode ?? app.signalCode}) before it was healthy:\n${appLogTail()}`);
    }
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not healthy within ${ms} ms (last: ${last}):\n${appLogTail()}`);
}

async function stopApp() {
  if (!app || app.exitCode !== null || app.signalCode !== null) return;
  const exited = once(app, 'exit');
  app.kill('SIGTERM');
  const timer = setTimeout(() => app.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Runs axe-core on the current page; fails listing every serious or critical violation. */
async function assertAccessible(page, what) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad
    .map((v) => {
      const nodes = v.nodes
        .map((n) => `    - ${n.target.join(' ')}\n      ${(n.failureSummary || '').replace(/\n/g, '\n      ')}`)
        .join('\n');
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
    })
    .join('\n');
  assert.equal(bad.length, 0, `axe found ${bad.length} serious/critical violation(s) on ${what}:\n${report}`);
}

/**
 * Taps `button`, waits until the page it leads to (after any redirect) is loaded, and
 * returns the response of the form POST itself.
 */
async function submit(page, button) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().startsWith(baseUrl + CAMPAIGN)),
    page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() }),
    button.tap(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

before(async () => {
  assert.ok(fs.existsSync(APP_BIN), `talentpool binary not found at ${APP_BIN}; run \`cargo build -p talentpool\` or set TALENTPOOL_BIN`);
  assert.ok(fs.existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}; run \`apt-get install -y chromium\``);

  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'talentpool-browser-'));
  smtp = await startSmtp();
  const smtpPort = smtp.server.address().port;
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;

  const env = { ...process.env };
  delete env.DATABASE_URL;
  Object.assign(env, {
    APP_ENV: 'development',
    DATA_DIR: dataDir,
    PORT: String(port),
    BASE_URL: baseUrl,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    SECRET_KEY: 'browser-test-secret-key-0123456789abcdef', // 40 characters
    SIGNUP_RATE_PER_MINUTE: '0',
    JOB_POLL_MILLIS: '50',
  });
  app = spawn(APP_BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  app.stdout.on('data', (chunk) => { appLog += chunk; });
  app.stderr.on('data', (chunk) => { appLog += chunk; });
  await waitForHealthy(`${baseUrl}/healthz`, 60_000);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  // Each step runs even if an earlier one fails, so nothing is left running.
  if (browser) await browser.close();
  await stopApp();
  if (smtp) await new Promise((resolve) => smtp.close(resolve));
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a candidate signs up on a phone and confirms the email address', { timeout: 120_000 }, async () => {
  try {
    await signUpFlow();
  } catch (err) {
    // Re-thrown: only adds the server's log to the failure message.
    err.message += `\n--- talentpool log (last lines) ---\n${appLogTail()}`;
    throw err;
  }
});

async function signUpFlow() {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 1,
    locale: 'en-GB',
    // The app sends a strict Content-Security-Policy (default-src 'self'), which
    // would block the inline axe-core script injected by addScriptTag.
    bypassCSP: true,
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // HTTP failures are checked on the responses below, with their URLs.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource:')) {
      problems.push(`console error: ${msg.text()} (${msg.location().url})`);
    }
  });
  page.on('response', (res) => {
    const expected = res.status() === 422 && res.request().method() === 'POST';
    if (res.status() >= 400 && !expected && !res.url().endsWith('/favicon.ico')) {
      problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
    }
  });

  // 1. The landing page.
  const landing = await page.goto(baseUrl + CAMPAIGN);
  assert.equal(landing.status(), 200, `GET ${CAMPAIGN}`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'Join the talent pool' }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `landing page scrolls sideways on a 360 px screen (${overflow} px too wide)`);
  await page.screenshot({ path: LANDING_SCREENSHOT, fullPage: true });
  await assertAccessible(page, 'the landing page');

  const submitButton = page.getByRole('button', { name: 'Join the talent pool' });

  // 2. Submitting the empty form shows the errors.
  const empty = await submit(page, submitButton);
  assert.equal(empty.status(), 422, 'an empty sign-up should be refused with 422');
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.equal(await summary.getAttribute('role'), 'alert');
  assert.match(await summary.getByRole('heading').innerText(), /There is a problem with \d+ answers?/);
  for (const id of ['full_name', 'email', 'citizenship', 'residence_country', 'profession',
    'years_experience', 'english_level', 'norwegian_level', 'consent_pool']) {
    assert.equal(await page.locator(`#${id}`).getAttribute('aria-invalid'), 'true', `#${id} should be aria-invalid`);
  }
  const summaryTargets = await summary.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
  assert.ok(summaryTargets.length > 0, 'the error summary should link to the fields');
  for (const href of summaryTargets) {
    assert.equal(await page.locator(href).count(), 1, `error summary link ${href} should point at a field`);
  }
  for (const id of ['consent_share', 'consent_newsletter', 'phone', 'linkedin_url']) {
    assert.equal(await page.locator(`#${id}`).getAttribute('aria-invalid'), null, `optional #${id} should not be invalid`);
  }
  await assertAccessible(page, 'the landing page with errors');

  // 3. Fill the form in like a person and send it.
  const email = `e2e.${Date.now()}.${process.pid}@example.com`;
  signedUpEmail = email;
  await page.getByLabel('Full name', { exact: true }).fill('Agnieszka Nowak');
  await page.getByLabel('Email address', { exact: true }).fill(email);
  await page.getByLabel('Citizenship', { exact: true }).selectOption('PL');
  await page.getByLabel('Country you live in', { exact: true }).selectOption('PL');
  await page.getByLabel('Profession', { exact: true }).selectOption('2512');
  await page.getByLabel('Years of experience in this profession', { exact: true }).fill('5');
  await page.getByLabel('English', { exact: true }).selectOption('B2');
  await page.getByLabel('Norwegian', { exact: true }).selectOption('none');
  await page.locator('#consent_pool').check();
  await page.locator('#consent_share').check();
  const sent = await submit(page, submitButton);
  assert.equal(sent.status(), 303, `a valid sign-up should redirect; got ${sent.status()}: ${
    sent.status() === 422 ? await page.locator('.error-summary').innerText().catch(() => '') : ''}`);
  assert.equal(new URL(page.url()).pathname, `${CAMPAIGN}/thanks`);
  await page.getByRole('heading', { level: 1, name: 'Check your email' }).waitFor();
  await assertAccessible(page, 'the "Check your email" page');

  // 4. The confirmation email arrives over SMTP; open its link.
  const mail = await waitForMail(email, 45_000);
  const text = mail.parsed.text;
  assert.ok(text, 'the confirmation email should have a text part');
  const links = text.match(/https?:\/\/\S+/g) || [];
  const confirmUrl = links.find((l) => l.startsWith(`${baseUrl}/confirm/`));
  assert.ok(confirmUrl, `no ${baseUrl}/confirm/ link in the email text:\n${text}`);
  const confirmed = await page.goto(confirmUrl);
  assert.equal(confirmed.status(), 200, `GET ${confirmUrl}`);
  await page.getByText('Your email address is confirmed').waitFor();
  await page.screenshot({ path: CONFIRMED_SCREENSHOT, fullPage: true });
  await assertAccessible(page, 'the confirmation page');

  assert.deepEqual(problems, [], 'the browser saw errors');
  await context.close();
}

test('the candidate manages their own data from the link in the email', { timeout: 120_000 }, async () => {
  assert.ok(signedUpEmail, 'the sign-up test ran first');
  try {
    await selfServiceFlow(signedUpEmail);
  } catch (err) {
    err.message += `\n--- talentpool log (last lines) ---\n${appLogTail()}`;
    throw err;
  }
});

async function selfServiceFlow(email) {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'en-GB',
    bypassCSP: true, acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (res) => {
    const expected = res.status() === 422 && res.request().method() === 'POST';
    if (res.status() >= 400 && !expected && !res.url().endsWith('/favicon.ico')) {
      problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
    }
  });
  const tapAndLoad = async (locator) => {
    await Promise.all([page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() }), locator.tap()]);
    await page.waitForLoadState('load');
  };

  // The confirmation email's footer carries the personal link.
  const mail = await waitForMail(email, 45_000);
  const meUrl = (mail.parsed.text.match(/https?:\/\/\S+/g) || []).find((l) => l.startsWith(`${baseUrl}/me/`));
  assert.ok(meUrl, `no ${baseUrl}/me/ link in the email:\n${mail.parsed.text}`);
  assert.equal((await page.goto(meUrl)).status(), 200);
  await page.getByRole('heading', { level: 1, name: 'Your profile' }).waitFor();
  assert.equal(await page.locator('#email').innerText(), email);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways on a 360 px screen (${overflow} px too wide)`);
  await assertAccessible(page, 'the self-service page');

  // Edit the profile: a bad answer is explained, a good one saved.
  const years = page.getByLabel('Years of experience in this profession', { exact: true });
  await years.fill('many');
  await tapAndLoad(page.getByRole('button', { name: 'Save my answers' }));
  assert.equal(await page.locator('#years_experience').getAttribute('aria-invalid'), 'true');
  await assertAccessible(page, 'the self-service page with an error');
  await page.getByLabel('Years of experience in this profession', { exact: true }).fill('8');
  await page.getByLabel('Norwegian', { exact: true }).selectOption('A2');
  await tapAndLoad(page.getByRole('button', { name: 'Save my answers' }));
  await page.getByText('Your answers are saved.').waitFor();
  assert.equal(await page.getByLabel('Years of experience in this profession', { exact: true }).inputValue(), '8');
  assert.equal(await page.getByLabel('Norwegian', { exact: true }).inputValue(), 'A2');

  // Newsletters: given, then withdrawn again.
  await tapAndLoad(page.getByRole('button', { name: 'Give: send me newsletters' }));
  await page.getByText('Your consent is updated.').waitFor();
  await tapAndLoad(page.getByRole('button', { name: 'Withdraw: no more newsletters' }));
  await page.getByRole('button', { name: 'Give: send me newsletters' }).waitFor();

  // The data export is a download of JSON with the profile in it.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download everything we hold about you' }).tap(),
  ]);
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.profile.email, email);
  assert.equal(exported.profile.years_experience, 8);
  assert.deepEqual(exported.consents.filter((c) => c.kind === 'newsletter').map((c) => [c.granted_source, c.withdrawn_source]),
    [['self_service', 'self_service']]);

  // Deleting asks for a tick first, then deletes everything.
  await tapAndLoad(page.getByRole('button', { name: 'Delete my data' }));
  assert.equal(await page.locator('#confirm').getAttribute('aria-invalid'), 'true');
  await page.locator('#confirm').check();
  await tapAndLoad(page.getByRole('button', { name: 'Delete my data' }));
  await page.getByRole('heading', { level: 1, name: 'Your data is deleted' }).waitFor();
  await assertAccessible(page, 'the deletion page');
  assert.deepEqual(problems, [], 'the browser saw errors');

  // The link no longer opens anything; the page offers a new one.
  const gone = await page.goto(meUrl);
  assert.equal(gone.status(), 404);
  await page.getByRole('button', { name: 'Email me a link' }).waitFor();
  await assertAccessible(page, 'the link request page');
  await context.close();
}

test('SIGTERM stops the app gracefully', { timeout: 30_000 }, async () => {
  assert.ok(app && app.exitCode === null && app.signalCode === null, 'the app should still be running');
  const exited = once(app, 'exit');
  app.kill('SIGTERM');
  const [code, signal] = await exited;
  assert.equal(signal, null, `killed by ${signal} instead of exiting:\n${appLogTail()}`);
  assert.equal(code, 0, `exit code after SIGTERM:\n${appLogTail()}`);
  assert.match(appLog, /shutting down/, 'the app logs its shutdown');
});
