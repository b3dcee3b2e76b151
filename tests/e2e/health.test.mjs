// Upstream health end to end: scheduled probes (wrangler dev --test-scheduled) into D1, the
// admin API and its OpenAPI contract, and traffic steered away from unhealthy origins — still
// exactly one attempt per request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import {
  ROOT, applyMigrations, freePort, publishLocal, startBackend, startGateway, stopAll, wrangler,
} from '../../scripts/lib/stack.mjs';
import { eventually, stats, tempDir } from './support.mjs';

const TOKEN = 'e2e-admin-token-7f3a';
const HEALTH_REFRESH_MS = 300;
let dir, gw, a, b, orders, spec;

const auth = { authorization: `Bearer ${TOKEN}` };
const admin = async (p, headers = auth) => fetch(`${gw.url}/__gateway/${p}`, { headers });
const setHealth = (backend, mode, slowMs = 1500) => fetch(`${backend.url}/_test/health`, {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, slow_ms: slowMs }),
});

/** Runs the cron handler once; resolves when it has finished. */
async function probeNow() {
  const started = Date.now();
  const res = await fetch(`${gw.url}/__scheduled?cron=*+*+*+*+*`);
  await res.text();
  assert.equal(res.status, 200);
  return Date.now() - started;
}

async function d1(sql) {
  const { stdout } = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--json', '--command', sql]);
  return JSON.parse(stdout)[0].results;
}

/** Which origin (by port) served each of n requests to /pool. */
async function poolSpread(n) {
  const ports = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${gw.url}/pool/spread`);
    if (res.status !== 200) {
      ports.push(res.status);
      await res.arrayBuffer();
      continue;
    }
    ports.push(Number((await res.json()).headers.host.split(':')[1]));
  }
  return ports;
}

/** Waits until the isolate's health view shows what `ok(spread)` expects. */
async function steered(ok) {
  const [spread] = await eventually(async () => {
    const spread = await poolSpread(20);
    return ok(spread) ? spread : null;
  }, HEALTH_REFRESH_MS * 10 + 3000, HEALTH_REFRESH_MS);
  return spread;
}

/** Validates a live response against the OpenAPI document's schema for it. */
function conforms(name, body) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi', components: spec.components });
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`);
  assert.ok(validate(body), `${name}: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body)}`);
}

before(async () => {
  dir = await tempDir('health');
  spec = JSON.parse(await readFile(path.join(ROOT, 'docs/admin-api.openapi.json'), 'utf8'));
  const ports = { a: await freePort(), b: await freePort(), orders: await freePort() };
  [a, b, orders] = await Promise.all([
    startBackend('users', ports.a), startBackend('users', ports.b), startBackend('orders', ports.orders),
  ]);
  let text = await readFile(path.join(ROOT, 'tests/e2e/fixtures/routes.health.toml'), 'utf8');
  text = text.replaceAll('@A@', ports.a).replaceAll('@B@', ports.b).replaceAll('@ORDERS@', ports.orders);
  const table = path.join(dir, 'routes.toml');
  await writeFile(table, text);
  await applyMigrations(dir);
  await publishLocal(table, dir);
  gw = await startGateway({
    port: await freePort(), persistTo: dir, testScheduled: true,
    vars: { ROUTES_REFRESH_MS: 500, HEALTH_REFRESH_MS, ADMIN_TOKEN: TOKEN },
  });
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the admin API needs the bearer token and is never forwarded', async () => {
  await Promise.all([a, b, orders].map((s) => fetch(`${s.url}/_test/stats`, { method: 'DELETE' })));
  for (const [p, headers] of [
    ['health', {}], ['routes', { authorization: 'Bearer wrong' }], ['versions', { authorization: `Basic ${TOKEN}` }],
    ['nope', {}],
  ]) {
    const res = await admin(p, headers);
    assert.equal(res.status, 401, p);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.match(res.headers.get('www-authenticate'), /^Bearer /);
    conforms('Problem', await res.json());
  }
  assert.equal((await admin('nope')).status, 404);
  assert.equal((await fetch(`${gw.url}/__gateway/health`, { method: 'POST', headers: auth })).status, 405);
  for (const s of [a, b, orders]) assert.equal((await stats(s)).total, 0, 'no admin request reached an origin');
});

test('a probe round writes one snapshot per origin to D1, within 5 s', async () => {
  const ms = await probeNow();
  console.log(`# probe round took ${ms} ms for 3 origins`);
  assert.ok(ms < 5000, `${ms} ms`);
  const rows = await d1('SELECT upstream, origin, status, http_status, detail FROM health_snapshots ORDER BY upstream, origin');
  const want = [['pool', a.url], ['pool', b.url], ['solo', orders.url]]
    .map(([upstream, origin]) => ({ upstream, origin, status: 'healthy', http_status: 200, detail: 'ok' }))
    .sort((x, y) => `${x.upstream} ${x.origin}`.localeCompare(`${y.upstream} ${y.origin}`));
  assert.deepEqual(rows, want);
});

test('admin responses follow the OpenAPI contract', async () => {
  const health = await (await admin('health')).json();
  conforms('HealthReport', health);
  assert.equal(health.status, 'healthy');
  assert.deepEqual(health.origins.map((o) => [o.origin, o.status, o.fresh]), [
    [a.url, 'healthy', true], [b.url, 'healthy', true], [orders.url, 'healthy', true],
  ]);
  const routes = await (await admin('routes')).json();
  conforms('RoutesReport', routes);
  assert.equal(routes.serving_version, routes.active_version);
  assert.deepEqual(routes.document.routes.map((r) => r.id), ['pool', 'solo']);
  const versions = await (await admin('versions')).json();
  conforms('VersionsReport', versions);
  assert.equal(versions.active_version, routes.serving_version);
  assert.deepEqual(versions.activations.map((x) => x.action), ['publish']);
});

test('slow and self-reported degraded origins are degraded; a timeout is unhealthy', async () => {
  await setHealth(b, 'slow', 600); // > degraded_ms 300, < health_timeout_ms 1000
  await setHealth(orders, 'degraded');
  await setHealth(a, 'slow', 1500); // > health_timeout_ms
  const ms = await probeNow();
  assert.ok(ms < 5000, `${ms} ms`);
  const health = await (await admin('health')).json();
  conforms('HealthReport', health);
  const by = Object.fromEntries(health.origins.map((o) => [o.origin, o]));
  assert.equal(by[a.url].status, 'unhealthy');
  assert.equal(by[a.url].detail, 'timed out after 1000 ms');
  assert.equal(by[a.url].http_status, null);
  assert.equal(by[b.url].status, 'degraded');
  assert.match(by[b.url].detail, /^slow: \d+ ms > 300 ms$/);
  assert.equal(by[orders.url].status, 'degraded');
  assert.equal(by[orders.url].detail, 'reports degraded');
  assert.equal(health.status, 'degraded');
  await Promise.all([setHealth(a, 'healthy'), setHealth(b, 'healthy'), setHealth(orders, 'healthy')]);
});

test('traffic leaves an unhealthy origin and comes back when it recovers', async () => {
  await setHealth(b, 'unhealthy');
  await probeNow();
  const [row] = await d1(`SELECT status, http_status FROM health_snapshots WHERE origin = '${b.url}' ORDER BY id DESC LIMIT 1`);
  assert.deepEqual(row, { status: 'unhealthy', http_status: 503 });
  await steered((s) => s.every((p) => p === a.port));
  await fetch(`${b.url}/_test/stats`, { method: 'DELETE' });
  const away = await poolSpread(40);
  assert.ok(away.every((p) => p === a.port), JSON.stringify(away));
  assert.equal((await stats(b)).paths['/echo/spread'], undefined, 'B got no traffic while unhealthy');

  await setHealth(b, 'healthy');
  await probeNow();
  const back = await steered((s) => s.includes(a.port) && s.includes(b.port));
  assert.ok(back.every((p) => p === a.port || p === b.port), JSON.stringify(back));
});

test('with every origin unhealthy: 503 with Retry-After at once, and no origin is hit', async () => {
  await Promise.all([setHealth(a, 'unhealthy'), setHealth(b, 'unhealthy')]);
  await probeNow();
  await steered((s) => s.every((p) => p === 503));
  await Promise.all([a, b].map((s) => fetch(`${s.url}/_test/stats`, { method: 'DELETE' })));
  const started = Date.now();
  const res = await fetch(`${gw.url}/pool/spread`);
  const elapsed = Date.now() - started;
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '30');
  const body = await res.json();
  assert.deepEqual([body.title, body.route_id], ['Upstream Unavailable', 'pool']);
  assert.ok(elapsed < 500, `answered in ${elapsed} ms`);
  for (const s of [a, b]) assert.equal((await stats(s)).total, 0);
  // The other upstream is unaffected.
  assert.equal((await fetch(`${gw.url}/solo/x`)).status, 200);
  await Promise.all([setHealth(a, 'healthy'), setHealth(b, 'healthy')]);
  await probeNow();
});

test('snapshots older than the retention are pruned on the next round', async () => {
  await d1("INSERT INTO health_snapshots (upstream, origin, status, http_status, latency_ms, checked_at, detail) VALUES ('pool', 'http://gone', 'healthy', 200, 1, 1000, 'ancient')");
  await probeNow();
  assert.deepEqual(await d1("SELECT id FROM health_snapshots WHERE origin = 'http://gone'"), []);
  const [{ n }] = await d1('SELECT COUNT(*) AS n FROM health_snapshots');
  assert.ok(n >= 3);
});
