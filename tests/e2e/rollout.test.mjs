// End to end: a gradual migration from `orders` to `orders-v2` through route conditions and
// splits, in wrangler dev (workerd, local KV and D1) in front of both real backends. Which
// side answered is read from the backends' own `x-served-by-service` header; the condition
// routes rewrite to each backend's `/echo/<route>`, so the echo also names the route that
// matched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ROOT, applyMigrations, freePort, publishLocal, run, startBackend, startGateway, stopAll,
} from '../../scripts/lib/stack.mjs';
import { eventually, tempDir } from './support.mjs';

const REFRESH_MS = 500;
const IN_FLIGHT = 16;
const KEYS = Array.from({ length: 2000 }, (_, i) => `user-${String(i).padStart(4, '0')}`);
const STICKY_SAMPLE = 200;
const TOLERANCE = 0.03; // ± 3 percentage points
const OLD = 'orders';
const NEW = 'orders-v2';
let dir, gw, ports, first;
const versions = {}; // table versions by share: ten, twenty

const url = (p) => `${gw.url}${p}`;

/** The route table: `/orders/{id}` split `percent` % to orders-v2 by the `x-user-id` header,
 *  and a slot per kind of condition (plus one with all of them, and one with no fallback). */
function table(percent) {
  const upstream = (name, port) => `[upstreams.${name}]\ntimeout_ms = 5000\n[upstreams.${name}.env.local]\norigins = ["http://127.0.0.1:${port}"]\n\n`;
  const route = (id, p, to, extra = '') => `[[routes]]\nid = "${id}"\nmethods = ["GET"]\npath = "${p}"\nupstream = "${to}"\nrewrite = { template = "/echo/${id}" }\n${extra}\n`;
  return upstream(OLD, ports.orders) + upstream(NEW, ports.ordersV2)
    + `[[routes]]\nid = "orders-get"\nmethods = ["GET"]\npath = "/orders/{id}"\nupstream = "${OLD}"\n`
    + `split = { to = { ${NEW} = ${percent} }, sticky = "header:x-user-id", override_header = "x-gateway-split" }\n\n`
    + route('header-beta', '/when/header', NEW, 'when = { header = { x-beta = "1" } }\n')
    + route('header-rest', '/when/header', OLD)
    + route('prefix-ios', '/when/prefix', NEW, 'when = { header = { x-client = { prefix = "ios/" } } }\n')
    + route('prefix-android', '/when/prefix', OLD, 'when = { header = { x-client = { prefix = "android/" } } }\n')
    + route('prefix-rest', '/when/prefix', OLD)
    + route('cookie-beta', '/when/cookie', NEW, 'when = { cookie = { beta = { present = true } } }\n')
    + route('cookie-rest', '/when/cookie', OLD)
    + route('query-v2', '/when/query', NEW, 'when = { query = { v = "2" } }\n')
    + route('query-label', '/when/space', NEW, 'when = { query = { label = "new world" } }\n')
    + route('query-rest', '/when/query', OLD)
    + route('space-rest', '/when/space', OLD)
    + route('all-beta', '/when/all', NEW,
      'when = { header = { x-beta = "1", x-client = { prefix = "ios/" } }, cookie = { beta = { present = true } }, query = { v = "2" } }\n')
    + route('all-rest', '/when/all', OLD)
    + route('only-beta', '/when/only', NEW, 'when = { header = { x-beta = "1" } }\n');
}

/** Writes `text` as `name` in the test's directory; returns its path. */
async function file(name, text) {
  const at = path.join(dir, name);
  await writeFile(at, text);
  return at;
}

/** Runs `fn` over `items`, `IN_FLIGHT` at a time; resolves to the results in order. */
async function pool(items, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return results;
}

/** GET /orders/1 for sticky key `key`: which side served it and under which table version.
 *  Either side must answer with order 1; only orders-v2 adds `currency`. */
async function side(key, headers = {}) {
  const res = await fetch(url('/orders/1'), { headers: { 'x-user-id': key, ...headers } });
  const body = await res.text();
  assert.equal(res.status, 200, `${key}: ${body}`);
  const served = res.headers.get('x-served-by-service');
  const { currency, ...order } = JSON.parse(body);
  assert.deepEqual(order, { id: 1, user_id: 1, item: 'analytical engine', quantity: 1 }, key);
  assert.equal(currency, served === NEW ? 'EUR' : undefined, `${key}: ${served} answered ${body}`);
  return { served, version: res.headers.get('x-gateway-route-version') };
}

/** Which side each key lands on, under `version`. */
async function sides(keys, version) {
  const seen = await pool(keys, (key) => side(key));
  for (const [i, s] of seen.entries()) assert.equal(s.version, version, `${keys[i]} was served by another table`);
  return seen.map((s) => s.served);
}

const share = (served) => served.filter((s) => s === NEW).length / served.length;

/** The sides of every key at 10 %, measured once (the first test that needs it). */
async function firstPass() {
  first ??= await sides(KEYS, versions.ten);
  return first;
}

/** GET `p` with `headers` through the gateway: status, and for a 200 the backend and the route
 *  (the echoed path `/echo/<route id>`) that served it. */
async function reach(p, headers = {}) {
  const res = await fetch(url(p), { headers });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return { status: res.status };
  }
  const echo = await res.json();
  return { status: 200, service: echo.service, route: echo.path.replace('/echo/', '') };
}

before(async () => {
  dir = await tempDir('rollout');
  ports = { orders: await freePort(), ordersV2: await freePort() };
  await Promise.all([startBackend(OLD, ports.orders), startBackend(NEW, ports.ordersV2)]);
  await applyMigrations(dir);
  ({ version: versions.ten } = await publishLocal(await file('routes-10.toml', table(10)), dir));
  gw = await startGateway({ port: await freePort(), persistTo: dir, vars: { ROUTES_REFRESH_MS: REFRESH_MS } });
  await eventually(async () => (await fetch(url('/orders/1'), { headers: { 'x-user-id': 'warm-up' } })).status === 200, 10_000);
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a 10 % split sends 10 % ± 3 points of 2,000 sticky keys to the new side', async () => {
  const served = await firstPass();
  assert.deepEqual(new Set(served), new Set([OLD, NEW]), 'both sides serve');
  const got = share(served);
  assert.ok(Math.abs(got - 0.10) <= TOLERANCE, `${(got * 100).toFixed(1)} % on ${NEW}`);
});

test('each sticky key sees one side on every request', async () => {
  const served = await firstPass();
  const sample = KEYS.slice(0, STICKY_SAMPLE);
  for (let round = 0; round < 3; round++) {
    const again = await sides(sample, versions.ten);
    const moved = sample.filter((key, i) => again[i] !== served[i]);
    assert.deepEqual(moved, [], `round ${round + 1}: keys that changed sides`);
  }
});

test('the override header picks either side, whatever the key; an unknown name is ignored', async () => {
  const served = await firstPass();
  const onOld = KEYS.filter((_, i) => served[i] === OLD).slice(0, 20);
  const onNew = KEYS.filter((_, i) => served[i] === NEW).slice(0, 20);
  for (const key of onOld) assert.equal((await side(key, { 'x-gateway-split': NEW })).served, NEW, key);
  for (const key of onNew) assert.equal((await side(key, { 'x-gateway-split': OLD })).served, OLD, key);
  for (const key of [...onOld.slice(0, 5), ...onNew.slice(0, 5)]) {
    const want = served[KEYS.indexOf(key)];
    assert.equal((await side(key, { 'x-gateway-split': 'nowhere' })).served, want, key);
  }
});

test('conditions route by header (exact and prefix), cookie and query; all listed must hold', async () => {
  const all = { 'x-beta': '1', 'x-client': 'ios/17.2', cookie: 'session=abc; beta=yes' };
  const cases = [
    // [path, headers, status, service, route]
    ['/when/header', { 'x-beta': '1' }, 200, NEW, 'header-beta'],
    ['/when/header', { 'x-beta': '2' }, 200, OLD, 'header-rest'],
    ['/when/header', { 'x-beta': '10' }, 200, OLD, 'header-rest'],
    ['/when/header', {}, 200, OLD, 'header-rest'],
    ['/when/prefix', { 'x-client': 'ios/17.2' }, 200, NEW, 'prefix-ios'],
    ['/when/prefix', { 'x-client': 'android/14' }, 200, OLD, 'prefix-android'],
    ['/when/prefix', { 'x-client': 'web/ios/17' }, 200, OLD, 'prefix-rest'],
    ['/when/prefix', { 'x-client': 'ios' }, 200, OLD, 'prefix-rest'],
    ['/when/prefix', {}, 200, OLD, 'prefix-rest'],
    ['/when/cookie', { cookie: 'beta=1' }, 200, NEW, 'cookie-beta'],
    ['/when/cookie', { cookie: 'a=b; beta=' }, 200, NEW, 'cookie-beta'],
    ['/when/cookie', { cookie: 'notbeta=1; xbeta=2' }, 200, OLD, 'cookie-rest'],
    ['/when/cookie', { 'x-beta': '1' }, 200, OLD, 'cookie-rest'],
    ['/when/query?v=2', {}, 200, NEW, 'query-v2'],
    ['/when/query?a=1&v=2', {}, 200, NEW, 'query-v2'],
    ['/when/query?v=%32', {}, 200, NEW, 'query-v2'],
    ['/when/query?v=3', {}, 200, OLD, 'query-rest'],
    ['/when/query?vv=2', {}, 200, OLD, 'query-rest'],
    ['/when/query', { 'x-beta': '1' }, 200, OLD, 'query-rest'],
    ['/when/space?label=new+world', {}, 200, NEW, 'query-label'],
    ['/when/space?label=new%20world', {}, 200, NEW, 'query-label'],
    ['/when/space?label=new', {}, 200, OLD, 'space-rest'],
    ['/when/all?v=2', all, 200, NEW, 'all-beta'],
    ['/when/all', all, 200, OLD, 'all-rest'],
    ['/when/all?v=2', { ...all, 'x-beta': '0' }, 200, OLD, 'all-rest'],
    ['/when/all?v=2', { ...all, 'x-client': 'android/14' }, 200, OLD, 'all-rest'],
    ['/when/all?v=2', { ...all, cookie: 'session=abc' }, 200, OLD, 'all-rest'],
    ['/when/only', { 'x-beta': '1' }, 200, NEW, 'only-beta'],
    ['/when/only', {}, 404],
    ['/when/only', { 'x-beta': '2' }, 404],
  ];
  const got = await pool(cases, ([p, headers]) => reach(p, headers));
  for (const [i, [p, headers, status, service, route]] of cases.entries()) {
    const want = status === 200 ? { status, service, route } : { status };
    assert.deepEqual(got[i], want, `GET ${p} ${JSON.stringify(headers)}`);
  }
  const post = await fetch(url('/when/only'), { method: 'POST', headers: { 'x-beta': '1' } });
  await post.arrayBuffer();
  assert.equal(post.status, 405, 'no route of the path has POST');
});

test('raising the split from 10 % to 20 % moves keys only from the old side to the new', async () => {
  const before10 = await firstPass();
  ({ version: versions.twenty } = await publishLocal(await file('routes-20.toml', table(20)), dir));
  await eventually(async () => (await side('probe')).version === versions.twenty, 5000, 100);
  const after20 = await sides(KEYS, versions.twenty);
  const back = KEYS.filter((_, i) => before10[i] === NEW && after20[i] === OLD);
  assert.deepEqual(back, [], 'keys moved from the new side back to the old');
  const got = share(after20);
  assert.ok(Math.abs(got - 0.20) <= TOLERANCE, `${(got * 100).toFixed(1)} % on ${NEW} at 20 %`);
  const moved = KEYS.filter((_, i) => before10[i] === OLD && after20[i] === NEW).length / KEYS.length;
  assert.ok(Math.abs(moved - 0.10) <= TOLERANCE, `${(moved * 100).toFixed(1)} % of keys moved to ${NEW}`);
});

test('gatewayctl check refuses two conditional routes that may both match, naming file:line:column', async () => {
  const text = table(10)
    + '[[routes]]\nid = "beta-by-header"\nmethods = ["GET"]\npath = "/ambiguous"\nupstream = "orders-v2"\n'
    + 'when = { header = { x-beta = "1" } }\n\n'
    + '[[routes]]\nid = "beta-by-client"\nmethods = ["GET"]\npath = "/ambiguous"\nupstream = "orders-v2"\n'
    + 'when = { header = { x-client = { prefix = "ios/" } } }\n\n'
    + '[[routes]]\nid = "disjoint-a"\nmethods = ["GET"]\npath = "/disjoint"\nupstream = "orders"\n'
    + 'when = { header = { x-beta = "1" }, query = { v = "1" } }\n\n'
    + '[[routes]]\nid = "disjoint-b"\nmethods = ["GET"]\npath = "/disjoint"\nupstream = "orders-v2"\n'
    + 'when = { query = { v = "2" }, cookie = { beta = { present = true } } }\n';
  const at = await file('ambiguous.toml', text);
  const failed = await run(path.join(ROOT, 'target/debug/gatewayctl'), ['check', at, '--env', 'local']).then(
    ({ stdout, stderr }) => assert.fail(`check accepted it:\n${stdout}${stderr}`),
    (e) => e,
  );
  assert.equal(failed.code, 1, failed.message);
  const lines = text.split('\n');
  const start = lines.indexOf('id = "beta-by-client"');
  const end = lines.indexOf('', start);
  const problems = failed.stderr.split('\n').filter((l) => l.startsWith(`${at}:`) && !l.startsWith(`${at}: `));
  assert.equal(problems.length, 1, failed.stderr);
  const m = problems[0].match(/^.*:(\d+):(\d+): route `beta-by-client`: .*`beta-by-header`/);
  assert.ok(m, problems[0]);
  const line = Number(m[1]);
  assert.ok(line >= start && line <= end, `${problems[0]}: line ${line} is not in the route (lines ${start}–${end})`);
  assert.ok(Number(m[2]) >= 1, problems[0]);
});
