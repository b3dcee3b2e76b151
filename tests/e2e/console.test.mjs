// The operator console (GET /__gateway/) in a real browser, used as a person would: headless
// Chromium against the stack `npm run dev` runs — the repository's routes.toml, the sample
// backends, wrangler dev with local KV and D1, probes run on demand — in a temporary state
// directory. Signs in (a wrong token is refused), reads the active version, opens a diff, rolls
// back from the page (and sees X-Gateway-Route-Version change on a proxied request), aborts a
// canary and promotes another, is refused (409) from a page gone stale, watches an origin turn
// unhealthy after a probe round and traffic counts rise; works by keyboard, passes axe-core,
// fits a phone. Any console error (a CSP violation included),
// uncaught exception, failed request or HTTP error in the page fails the test unless the step
// expected it. Screenshots of every view go to test-artifacts/console/ (git-ignored).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import {
  ROOT, applyMigrations, freePort, publishLocal, run, startBackend, startGateway, stopAll,
} from '../../scripts/lib/stack.mjs';
import { startLocalStore } from '../../scripts/lib/local-store.mjs';
import { launch, screenshot, watchedPage } from './browser.mjs';
import { eventually, tempDir } from './support.mjs';

const TOKEN = 'e2e-console-token-3c9d';
const SHOTS = 'console';
const T0 = Date.now();
const note = (text) => console.log(`# [${((Date.now() - T0) / 1000).toFixed(1)} s] ${text}`);
let dir, gw, backends, browser, tab, versions, store;

/** routes.toml with its local origins moved to this test's backends, without its upstreams'
 *  `contract` documents (the copy adds routes to test-only paths that no contract lists). */
async function table(ports, edit = (t) => t) {
  let text = (await readFile(path.join(ROOT, 'routes.toml'), 'utf8')).replace(/^contract = .*\n/gm, '');
  for (const [from, to] of Object.entries(ports)) text = text.replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`);
  return edit(text);
}

/** Version 2: users-echo rewritten elsewhere, and a new route that answers any status. */
const v2 = (text) => `${text.replace('template = "/echo/{rest}"', 'template = "/echo/v2/{rest}"')}
[[routes]]
id = "users-status"
path = "/status/{code}"
upstream = "users"
rewrite = { template = "/_test/status/{code}" }
`;

async function file(name, text) {
  const at = path.join(dir, name);
  await writeFile(at, text);
  return at;
}

const admin = async (p) => (await fetch(`${gw.url}/__gateway/${p}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
const probeNow = async () => { const r = await fetch(`${gw.url}/__scheduled?cron=*+*+*+*+*`); await r.text(); assert.equal(r.status, 200); };
const servedBy = async () => {
  const res = await fetch(`${gw.url}/echo/users/which`);
  await res.arrayBuffer();
  return res.headers.get('x-gateway-route-version');
};
const setHealth = (backend, mode) => fetch(`${backend.url}/_test/health`, {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }),
});

/** Opens a view from the navigation, as a person would, and waits for it to load. */
async function open(page, name) {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await page.locator('main[aria-busy]').waitFor({ state: 'detached' });
}

/** Clicks Refresh and waits until the view is drawn again. */
async function refresh(page) {
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.locator('main[aria-busy]').waitFor({ state: 'detached' });
}

before(async () => {
  dir = await tempDir('console');
  const ports = { 9101: await freePort(), 9102: await freePort(), 9104: await freePort() };
  const started = Promise.all([
    startBackend('users', ports[9101]), startBackend('orders', ports[9102]), startBackend('orders-v2', ports[9104]),
  ]);
  // gatewayctl publishes through one long-lived local store (as npm run dev does): ~0.5 s each.
  const published = Promise.all([applyMigrations(dir), startLocalStore(ROOT, dir)]).then(async ([, local]) => {
    const env = { ...local, GATEWAYCTL_AUTHOR: 'e2e' };
    store = env;
    const a = (await publishLocal(await file('v1.toml', await table(ports)), dir, { env })).version;
    const b = (await publishLocal(await file('v2.toml', await table(ports, v2)), dir, { env })).version;
    return { v1: a, v2: b };
  });
  const [up, vs, b] = await Promise.all([started, published, launch()]);
  const [users, orders, ordersV2] = up;
  backends = { users, orders, ordersV2, ports };
  versions = vs;
  browser = b;
  note(`backends up, ${versions.v1} and ${versions.v2} published`);
  gw = await startGateway({
    port: await freePort(), persistTo: dir, testScheduled: true,
    profile: process.env.WORKER_PROFILE === 'dev' ? 'dev' : 'release',
    vars: { ADMIN_TOKEN: TOKEN, ROUTES_REFRESH_MS: 500, HEALTH_REFRESH_MS: 300, STATS_FLUSH_MS: 1000 },
  });
  await probeNow();
  note('gateway up, one probe round done');
  tab = await watchedPage(browser);
});

afterEach(() => {
  const problems = tab?.problems.splice(0) ?? [];
  assert.deepEqual(problems, [], 'the page had console errors or failed requests');
});

after(async () => {
  await browser?.close();
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the console is three small same-origin files under a strict Content-Security-Policy', async () => {
  let gzipped = 0;
  let raw = 0;
  for (const p of ['', 'console.js', 'console.css']) {
    const res = await fetch(`${gw.url}/__gateway/${p}`);
    assert.equal(res.status, 200, p);
    const body = Buffer.from(await res.arrayBuffer());
    raw += body.length;
    gzipped += gzipSync(body, { level: 9 }).length;
    if (p === '') {
      assert.match(res.headers.get('content-type'), /^text\/html/);
      const csp = res.headers.get('content-security-policy');
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.doesNotMatch(body.toString(), /<script>|style=|https?:\/\//, 'no inline script or style, no external URL');
    }
  }
  note(`console assets: ${raw} bytes, ${gzipped} gzipped`);
  assert.ok(gzipped <= 60 * 1024, `${gzipped} bytes gzipped`);
});

test('sign-in refuses a wrong token, then shows the active version', async () => {
  const { page } = tab;
  await page.goto(`${gw.url}/__gateway/`);
  await page.getByRole('heading', { name: 'Sign in to the gateway console' }).waitFor();
  await screenshot(page, SHOTS, 'signin');
  await page.getByLabel('Admin token').fill('not-the-token');
  await tab.expect(/HTTP 401|status of 401/, async () => {
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That token was refused.' }).waitFor();
  });
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  await page.getByLabel('Admin token').fill(TOKEN);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await page.locator('#active-version').filter({ hasText: versions.v2 }).waitFor();
  assert.match(await page.locator('#c-health').locator('..').innerText(), /healthy/);
  assert.match(await page.locator('#rps').innerText(), /req\/s$/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('gateway.admin-token')), TOKEN);
  assert.deepEqual(await tab.context.cookies(), [], 'the token is never a cookie');
  await screenshot(page, SHOTS, 'overview');
});

test('routes: the served table, searchable', async () => {
  const { page } = tab;
  await open(page, 'Routes');
  const rows = page.locator('#route-table tbody tr');
  const served = (await admin('routes')).route_count;
  assert.equal(await rows.count(), served);
  const echo = page.getByRole('row').filter({ hasText: 'users-echo' });
  assert.match(await echo.innerText(), /\/echo\/users\/\{\*rest\}[\s\S]*users[\s\S]*\/echo\/v2\/\{rest\}[\s\S]*5,000 ms[\s\S]*web-cors[\s\S]*per-ip-trial/);
  await page.getByLabel('Search routes').fill('echo v2');
  await eventually(async () => (await rows.locator('visible=true').count()) === 1, 2000);
  assert.match(await page.locator('#route-count').innerText(), new RegExp(`^1 of ${served} routes`));
  assert.match(page.url(), /#\/routes\?q=echo%20v2$/);
  await screenshot(page, SHOTS, 'routes');
  await page.getByLabel('Search routes').fill('');
});

test('versions: a diff between two versions, rendered like gatewayctl diff', async () => {
  const { page } = tab;
  await open(page, 'Versions');
  await page.getByLabel('From version').selectOption(versions.v1);
  await page.getByLabel('To version').selectOption(versions.v2);
  await page.getByRole('button', { name: 'Show diff' }).click();
  const diff = page.locator('#diff pre');
  await diff.waitFor();
  const text = await diff.innerText();
  assert.match(text, /^routes:$/m);
  assert.match(text, /^ {2}~ route users-echo +rewrite\.template: \/echo\/\{rest\} → \/echo\/v2\/\{rest\}$/m);
  assert.match(text, /^ {2}\+ route users-status /m);
  assert.match(text, /^requests that would be served differently: [1-9]\d* of \d+$/m);
  assert.match(text, /^ {2}\S+ \/echo\/users\/\S+: users-echo .*\/echo\/v2\//m);
  await screenshot(page, SHOTS, 'versions-diff');
});

test('roll back from the page: confirmed in a dialog, recorded in D1, served at once', async () => {
  const { page } = tab;
  assert.equal(await servedBy(), versions.v2);
  await open(page, 'Versions');
  const button = page.getByRole('button', { name: 'Roll back to the previous version' });
  // By keyboard: the dialog opens, Escape cancels, focus returns, nothing happens.
  await button.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Roll back?' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), new RegExp(versions.v1));
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'rollback-previous');
  assert.equal((await admin('versions')).activations.length, 2, 'cancelled: nothing recorded');

  await button.click();
  await dialog.getByLabel('Note for the history (optional)').fill('console e2e rollback');
  await dialog.getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('status').filter({ hasText: 'Roll back: done' }).waitFor();
  const [served, ms] = await eventually(async () => (await servedBy()) === versions.v1, 5000, 100);
  note(`rolled back from the page; a proxied request was served by ${versions.v1} ${ms} ms later`);
  assert.ok(served);
  const history = await admin('versions');
  assert.equal(history.active_version, versions.v1);
  const [last] = history.activations;
  assert.deepEqual([last.action, last.version, last.previous], ['rollback', versions.v1, versions.v2]);
  assert.match(last.reason, /console e2e rollback/);
  const first = page.locator('#history-table tbody tr').first();
  assert.match(await first.innerText(), /rollback[\s\S]*console e2e rollback/);
  await screenshot(page, SHOTS, 'versions');
});

/** Publishes `text` as a canary on 10%, steps 10/50/100 (through the local store); its version. */
async function canary(name, text) {
  const { stdout } = await run(path.join(ROOT, 'target/debug/gatewayctl'), ['publish', await file(name, text), '--env', 'local',
    '--local', '--persist-to', dir, '--canary', '10', '--steps', '10,50,100', '--interval', '10m'], { env: store });
  note(`canary ${stdout.trim()} published`);
  return stdout.trim();
}

test('a canary: candidate, share and step on the overview; aborted, then another promoted from the page', async () => {
  const { page } = tab;
  const v3 = await canary('v3.toml', await table(backends.ports, (t) => `${v2(t)}timeout_ms = 3000\n`));
  await open(page, 'Overview');
  await page.locator('#candidate-version').filter({ hasText: v3 }).waitFor();
  assert.match(await page.locator('#c-canary').locator('..').innerText(), /10% of requests[\s\S]*step 1 of 3 \(10% → 50% → 100%\)/);
  await screenshot(page, SHOTS, 'overview-canary');

  await page.getByRole('button', { name: 'Abort canary' }).click();
  await page.getByRole('dialog', { name: 'Abort the canary?' }).getByRole('button', { name: 'Abort' }).click();
  await page.getByRole('status').filter({ hasText: 'Abort: done' }).waitFor();
  await page.getByText('No canary running.').waitFor();
  let [last] = (await admin('versions')).activations;
  assert.deepEqual([last.action, last.version, last.author], ['abort', versions.v1, 'console']);

  versions.v4 = await canary('v4.toml', await table(backends.ports, (t) => `${v2(t)}timeout_ms = 4000\n`));
  await open(page, 'Versions');
  await page.getByText(`canary ${versions.v4} on 10%`).waitFor();
  await page.getByRole('button', { name: 'Promote canary' }).click();
  await page.getByRole('dialog', { name: 'Promote the canary?' }).getByRole('button', { name: 'Promote' }).click();
  await page.getByRole('status').filter({ hasText: `Promote: done — ${versions.v4} is active` }).waitFor();
  [last] = (await admin('versions')).activations;
  assert.deepEqual([last.action, last.version, last.previous, last.author], ['promote', versions.v4, versions.v1, 'console']);
  await eventually(async () => (await servedBy()) === versions.v4, 5000, 100);
});

test('a page gone stale is refused (409) and says why; nothing changes', async () => {
  const { page } = tab;
  await open(page, 'Versions'); // shows v4 active, v1 before it
  const moved = await fetch(`${gw.url}/__gateway/rollback`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to: versions.v2, note: 'meanwhile, elsewhere' }),
  });
  assert.equal(moved.status, 200, await moved.text());
  await page.getByRole('button', { name: 'Roll back to the previous version' }).click();
  await tab.expect(/409/, async () => {
    await page.getByRole('dialog', { name: 'Roll back?' }).getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('alert').filter({ hasText: `The active version is ${versions.v2}, not ${versions.v4}` }).waitFor();
  });
  const history = await admin('versions');
  assert.equal(history.active_version, versions.v2);
  assert.equal(history.activations[0].reason.includes('meanwhile, elsewhere'), true, 'the refused rollback recorded nothing');
  await page.getByText(`Active: ${versions.v2}`).waitFor(); // the page shows what is in force now
  await eventually(async () => (await servedBy()) === versions.v2, 5000, 100);
});

test('health: an origin turns unhealthy on the health view after a probe round', async () => {
  const { page } = tab;
  const users = page.locator(`section[data-origin="${backends.users.url}"]`);
  await open(page, 'Health');
  assert.match(await users.getByRole('heading').innerText(), /users · .* healthy$/);
  await setHealth(backends.users, 'unhealthy');
  await probeNow();
  await refresh(page);
  assert.match(await users.getByRole('heading').innerText(), /users · .* unhealthy$/);
  assert.ok(await users.locator('rect.s-unhealthy').count() >= 1, 'the timeline shows the unhealthy probe');
  assert.ok(await users.locator('circle').count() >= 2, 'the latency chart has a point per probe');
  await screenshot(page, SHOTS, 'health');
  await setHealth(backends.users, 'healthy');
  await probeNow();
});

test('traffic: per route and version counts rise', async () => {
  const { page } = tab;
  await probeNow(); // flushes the counts so far to D1
  await open(page, 'Traffic');
  const active = (await admin('routes')).active_version;
  const row = () => page.locator('#traffic-routes tbody tr').filter({ hasText: 'users-echo' }).filter({ hasText: active });
  const count = async () => ((await row().count()) ? Number((await row().locator('td[data-label="Requests"]').innerText()).replace(/,/g, '')) : 0);
  const start = await count();
  for (let i = 0; i < 12; i++) await (await fetch(`${gw.url}/echo/users/t${i}`)).arrayBuffer();
  for (let i = 0; i < 3; i++) await (await fetch(`${gw.url}/api/users`)).arrayBuffer(); // 401: no API key
  await probeNow(); // flushes the counts to D1 now
  await eventually(async () => { await refresh(page); return (await count()) >= start + 12; }, 10_000, 500);
  const keyless = page.locator('#traffic-routes tbody tr').filter({ hasText: 'users-list' });
  assert.ok(Number(await keyless.locator('td[data-label="4xx"]').first().innerText()) >= 3);
  note(`users-echo on ${active}: ${start} → ${await count()} requests`);
  await page.getByLabel('Route').selectOption('users-echo');
  await page.locator('main[aria-busy]').waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 3 }).filter({ hasText: 'users-echo' }).first().waitFor();
  assert.ok(await page.locator('svg.chart rect.k2xx').count() >= 1, 'a bar for the 2xx requests');
  await screenshot(page, SHOTS, 'traffic');
});

test('keyboard: skip link, navigation, visible focus; axe-core finds no violations', async () => {
  const { page } = tab;
  await page.goto('about:blank'); // then a fresh load: going to another hash only changes the view
  await page.goto(`${gw.url}/__gateway/#/overview`);
  await page.locator('#active-version').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  for (const name of ['Overview', 'Routes', 'Versions', 'Health', 'Traffic']) {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), name);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', `${name} shows where the focus is`);
  }
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Traffic' }).waitFor();
  await eventually(() => page.evaluate(() => document.activeElement.tagName === 'H1'), 3000);

  const axe = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  for (const name of ['Overview', 'Routes', 'Versions', 'Health', 'Traffic']) {
    await open(page, name);
    await page.evaluate(axe);
    const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    assert.deepEqual(violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [], name);
  }
});

test('a phone-width screen: every view fits without sideways scrolling', async () => {
  const phone = await watchedPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const { page } = phone;
  try {
    await page.goto(`${gw.url}/__gateway/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    for (const name of ['Overview', 'Routes', 'Versions', 'Health', 'Traffic']) {
      await open(page, name);
      const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scroll <= inner, `${name}: ${scroll} px wide on a ${inner} px screen`);
      await screenshot(page, SHOTS, `phone-${name.toLowerCase()}`);
    }
    assert.deepEqual(phone.problems, []);
  } finally {
    await phone.context.close();
  }
  assert.ok(tab.requests.every((u) => u.startsWith(`${gw.url}/`) || u.startsWith('data:')), 'only same-origin requests');
});
