// Traffic statistics end to end: every response — relayed from an origin, answered by glue.js
// (502) or by Rust (404, 405) — is counted per version, route and upstream; the counts reach
// D1 in a background flush after STATS_FLUSH_MS and on the scheduled run (which also prunes);
// GET /__gateway/stats reports them as its OpenAPI contract says.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import {
  ROOT, applyMigrations, freePort, publishLocal, startBackend, startGateway, stopAll, wrangler,
} from '../../scripts/lib/stack.mjs';
import { eventually, tempDir } from './support.mjs';

const TOKEN = 'e2e-admin-token-5b2c';
const FLUSH_MS = 1000; // the least flush interval the gateway accepts
let dir, gw, users, version, spec;

const auth = { authorization: `Bearer ${TOKEN}` };
const stats = async (query = '', headers = auth) => fetch(`${gw.url}/__gateway/stats${query}`, { headers });

const TABLE = `
[upstreams.users]
timeout_ms = 5000
[upstreams.users.env.local]
origins = ["http://127.0.0.1:@USERS@"]

[upstreams.closed]
timeout_ms = 2000
[upstreams.closed.env.local]
origins = ["http://127.0.0.1:@CLOSED@"]

[[routes]]
id = "echo"
methods = ["GET"]
path = "/echo/{*rest}"
upstream = "users"

[[routes]]
id = "status"
path = "/status/{code}"
upstream = "users"
rewrite = { template = "/_test/status/{code}" }

[[routes]]
id = "down"
path = "/down/{*rest}"
upstream = "closed"
`;

async function d1(sql) {
  const { stdout } = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--json', '--command', sql]);
  return JSON.parse(stdout)[0].results;
}

/** Per (route, upstream): requests, status classes, gateway 5xx, and the histogram's sum. */
const SUMS = `SELECT route, upstream, SUM(requests) AS requests, SUM(s2xx) AS s2xx, SUM(s4xx) AS s4xx,
  SUM(s5xx) AS s5xx, SUM(gateway_5xx) AS gateway_5xx,
  SUM(h0 + h1 + h2 + h3 + h4 + h5 + h6 + h7 + h8 + h9 + h10) AS histogram
  FROM traffic_stats GROUP BY route, upstream ORDER BY route, upstream`;

async function get(p, init) {
  const res = await fetch(`${gw.url}${p}`, init);
  await res.arrayBuffer();
  return res.status;
}

/** Runs the cron handler once; resolves when it has finished. */
async function scheduledRun() {
  const res = await fetch(`${gw.url}/__scheduled?cron=*+*+*+*+*`);
  await res.text();
  assert.equal(res.status, 200);
}

function conforms(name, body) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi', components: spec.components });
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`);
  assert.ok(validate(body), `${name}: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body)}`);
}

before(async () => {
  dir = await tempDir('stats');
  spec = JSON.parse(await readFile(path.join(ROOT, 'docs/admin-api.openapi.json'), 'utf8'));
  const ports = { users: await freePort(), closed: await freePort() };
  users = await startBackend('users', ports.users);
  const table = path.join(dir, 'routes.toml');
  await writeFile(table, TABLE.replaceAll('@USERS@', ports.users).replaceAll('@CLOSED@', ports.closed));
  await applyMigrations(dir);
  ({ version } = await publishLocal(table, dir));
  gw = await startGateway({
    port: await freePort(), persistTo: dir, testScheduled: true,
    vars: { ADMIN_TOKEN: TOKEN, STATS_FLUSH_MS: FLUSH_MS },
  });
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('responses are counted per route and upstream and reach D1 without a scheduled run', async () => {
  const t0 = Date.now();
  const sent = [];
  for (let i = 0; i < 5; i++) sent.push(await get(`/echo/${i}`));
  sent.push(await get('/status/500'), await get('/status/500'), await get('/status/404'));
  for (let i = 0; i < 3; i++) sent.push(await get('/down/x'));
  sent.push(await get('/nope'), await get('/nope/either'), await get('/echo/1', { method: 'POST' }));
  assert.deepEqual(sent, [200, 200, 200, 200, 200, 500, 500, 404, 502, 502, 502, 404, 404, 405]);
  console.log(`# ${sent.length} requests took ${Date.now() - t0} ms`);

  // The first request after the interval schedules the flush; it never waits for it.
  await new Promise((r) => setTimeout(r, FLUSH_MS + 100));
  const started = Date.now();
  assert.equal(await get('/echo/trigger'), 200);
  assert.ok(Date.now() - started < 1000);
  const [rows, ms] = await eventually(async () => {
    const rows = await d1(SUMS);
    const total = rows.reduce((n, r) => n + r.requests, 0);
    return total >= sent.length ? rows : null;
  }, 10_000, 200);
  console.log(`# the counts were in D1 within ${ms} ms of the flush's request`);
  const by = Object.fromEntries(rows.map((r) => [`${r.route}/${r.upstream}`, r]));
  assert.deepEqual(by['/'], { route: '', upstream: '', requests: 3, s2xx: 0, s4xx: 3, s5xx: 0, gateway_5xx: 0, histogram: 3 });
  assert.deepEqual(by['status/users'], { route: 'status', upstream: 'users', requests: 3, s2xx: 0, s4xx: 1, s5xx: 2, gateway_5xx: 0, histogram: 3 });
  assert.deepEqual(by['down/closed'], { route: 'down', upstream: 'closed', requests: 3, s2xx: 0, s4xx: 0, s5xx: 3, gateway_5xx: 3, histogram: 3 });
  assert.ok(by['echo/users'].requests >= 5, JSON.stringify(by['echo/users']));
  const versions = await d1('SELECT DISTINCT version FROM traffic_stats');
  assert.deepEqual(versions, [{ version }]);
  const windows = await d1('SELECT window_start FROM traffic_stats');
  assert.ok(windows.every((w) => w.window_start % 10_000 === 0), JSON.stringify(windows));
});

test('the scheduled run flushes what is left and prunes old windows', async () => {
  await d1(`INSERT INTO traffic_stats (window_start, version, route, upstream, requests) VALUES (10000, '${version}', 'echo', 'users', 1000)`);
  await scheduledRun();
  const [echo] = await d1("SELECT SUM(requests) AS requests, SUM(s2xx) AS s2xx FROM traffic_stats WHERE route = 'echo'");
  assert.deepEqual(echo, { requests: 6, s2xx: 6 }, 'the five requests and the trigger; the ancient row is gone');
});

test('GET /__gateway/stats reports totals and series per version, route and upstream', async () => {
  assert.equal((await stats('', {})).status, 401);
  const res = await stats('?since=15m&step=60s');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const report = await res.json();
  conforms('StatsReport', report);
  assert.equal(report.step_ms, 60_000);
  assert.deepEqual(report.versions.map((v) => [v.version, v.totals.requests]), [[version, 15]]);
  const by = Object.fromEntries(report.routes.map((r) => [`${r.route}/${r.upstream}`, r]));
  assert.deepEqual(Object.keys(by), ['/', 'down/closed', 'echo/users', 'status/users']);
  const down = by['down/closed'].totals;
  assert.deepEqual([down.requests, down.s5xx, down.gateway_5xx, down.error_rate], [3, 3, 3, 1]);
  const echo = by['echo/users'];
  assert.deepEqual([echo.totals.requests, echo.totals.s2xx, echo.totals.error_rate], [6, 6, 0]);
  assert.ok(echo.totals.p50_ms >= 0 && echo.totals.p50_ms <= echo.totals.p99_ms, JSON.stringify(echo.totals));
  assert.equal(by['status/users'].totals.error_rate, 0.666667);
  // One point per step, zero-filled, adding up to the totals.
  assert.equal(echo.series.length, 16);
  assert.equal(echo.series.reduce((n, p) => n + p.requests, 0), 6);
  assert.ok(echo.series.some((p) => p.requests === 0 && p.p50_ms === null));

  const only = await (await stats(`?route=down&version=${encodeURIComponent(version)}`)).json();
  conforms('StatsReport', only);
  assert.deepEqual(only.routes.map((r) => r.route), ['down']);
  const unrouted = await (await stats('?route=')).json();
  assert.deepEqual(unrouted.routes.map((r) => [r.route, r.totals.s4xx]), [['', 3]]);
  const none = await (await stats('?version=nope')).json();
  assert.deepEqual([none.routes, none.versions], [[], []]);

  for (const [query, why] of [['?since=1w', /`since`/], ['?step=15s', /`step`/], ['?since=1d&step=10s', /Too many steps/], ['?sinse=1h', /Unknown/]]) {
    const bad = await stats(query);
    assert.equal(bad.status, 400, query);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    const body = await bad.json();
    conforms('Problem', body);
    assert.match(body.detail, why);
  }
});
