// What every browser test shares: where the app and Chromium are, a free port, waiting
// for the app to answer, Chromium launched the way this machine allows, the axe-core
// check, and an SMTP server that keeps what it receives.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

export const APP_BIN = process.env.TALENTPOOL_BIN
  ? path.resolve(process.env.TALENTPOOL_BIN)
  : path.resolve(here, '../../target/debug/talentpool');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export function freePort() {
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

/** Waits until `url` answers 200; fails early if `child` exits, with `log()` in the message. */
export async function waitForHealthy(url, ms, child, log) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`talentpool exited early:\n${log()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not healthy within ${ms} ms:\n${log()}`);
}

/** Headless Debian Chromium, with no downloads and no sandbox. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** Runs axe-core on the current page; fails listing every serious or critical violation. */
export async function assertAccessible(page, what) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad
    .map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n${v.nodes.map((n) => `    - ${n.target.join(' ')}`).join('\n')}`)
    .join('\n');
  assert.equal(bad.length, 0, `axe found ${bad.length} serious/critical violation(s) on ${what}:\n${report}`);
}

/** An SMTP server on a free port that keeps every message it receives. */
export async function startMailCatcher() {
  const mails = [];
  const waiters = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1000,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          mails.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), parsed });
          for (const waiter of waiters.splice(0)) waiter();
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.server.address().port,
    /** The first message to `address`, or a failure after `ms`. */
    waitFor(address, ms) {
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
            waiters.push(check);
          }
        };
        check();
      });
    },
    close() {
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
