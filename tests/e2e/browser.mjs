// A real browser for the end-to-end tests: headless Chromium (Debian's `chromium`, which
// scripts/setup.sh installs) driven by playwright-core. Every page records what went wrong in
// it — console errors (including Content-Security-Policy violations), uncaught exceptions,
// failed requests and HTTP error answers — so a test can insist there were none, or exactly
// the ones it expected.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from '../../scripts/lib/stack.mjs';

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** The Chromium binary: $CHROMIUM_PATH, or Debian's. */
export function chromiumPath() {
  const found = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!found) throw new Error('Chromium is missing: run `npm run setup` (installs Debian\'s chromium package)');
  return found;
}

/** Starts headless Chromium. (As root, Chromium's sandbox cannot start: it is turned off.) */
export function launch() {
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: chromiumPath(), args, headless: true });
}

/** A page whose problems are recorded in `problems` (strings). `expect(pattern, fn)` runs fn
 *  and removes the problems matching `pattern` that it caused, failing when there were none. */
export async function watchedPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`); });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  async function expect(pattern, fn) {
    const before = problems.length;
    const result = await fn();
    const caused = problems.splice(before);
    const unexpected = caused.filter((p) => !pattern.test(p));
    problems.push(...unexpected);
    if (unexpected.length === caused.length) throw new Error(`expected a problem matching ${pattern}, saw: ${caused.join('; ') || 'none'}`);
    return result;
  }
  return { context, page, problems, requests, expect };
}

/** Saves a full-page screenshot as test-artifacts/<dir>/<name>.png; returns its path. */
export async function screenshot(page, dir, name) {
  const folder = path.join(ARTIFACTS, dir);
  await mkdir(folder, { recursive: true });
  const file = path.join(folder, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
