// Faults in the gateway's stores, in raw workerd: Workers KV unavailable, slow or resetting
// (on an isolate's first load and while refreshing the table), and the rate-limit Durable
// Object throwing or never answering. wrangler dev's local KV cannot be made to fail, so here
// the KV binding is workerd's own, served by a real HTTP store the test controls
// (bench/kv-store.mjs), and RATE_LIMITER is a real Durable Object that misbehaves
// (fixtures/faulty-limiter.mjs). The origin is the `users` sample backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, freePort, run, startBackend, stopAll } from '../../scripts/lib/stack.mjs';
import { MODULES, OUT, serve, writeConfig } from '../../bench/workerd.mjs';
import { startKvStore } from '../../bench/kv-store.mjs';
import { eventually, tempDir } from './support.mjs';

const LOAD_TIMEOUT_MS = 400; // as the causes below say
const LIMIT_TIMEOUT_MS = 300;
const REFRESH_MS = 200;
let kv; let gw; let url; let dir; let users;

/** Compiles a route table whose `/api/users/{id}` answers from `users`; `marker` changes its
 *  version. Two more routes run the faulty limiter's policies. */
async function compile(marker) {
  const limit = (name) => `[policies.${name}]\ntype = "rate_limit"\nkey = "route"\nlimit = 1000\nperiod_s = 60\nstore = "durable_object"\nbinding = "RATE_LIMITER"\n\n`;
  const toml = `[upstreams.users]\ntimeout_ms = 3000\n[upstreams.users.env.local]\norigins = ["${users.url}"]\n\n`
    + limit('limiter-throws') + limit('limiter-hangs') + limit('limiter-ok')
    + `[[routes]]\nid = "users-${marker}"\nmethods = ["GET"]\npath = "/api/users/{id}"\nupstream = "users"\nrewrite = { strip_prefix = "/api" }\n\n`
    + ['throws', 'hangs', 'ok'].map((p) => `[[routes]]\nid = "limited-${p}"\npath = "/limited/${p}/{id}"\nupstream = "users"\nrewrite = { template = "/users/{id}" }\npolicies = ["limiter-${p}"]\n\n`).join('');
  const file = path.join(dir, `routes-${marker}.toml`);
  await writeFile(file, toml);
  const { stdout } = await run(path.join(ROOT, 'target/debug/gatewayctl'), ['compile', file, '--env', 'local']);
  return stdout.trim();
}

/** A GET through the gateway: status, served version, elapsed ms and the problem body. */
async function get(p) {
  const started = Date.now();
  const res = await fetch(`${url}${p}`);
  const body = await res.text();
  return { status: res.status, version: res.headers.get('x-gateway-route-version'), ms: Date.now() - started, body, headers: res.headers };
}

/** Log events named `name` since `from` (an offset into the logs). */
const events = (name, from = 0) => gw.logs().slice(from).split('\n')
  .filter((l) => l.includes(`"event":"${name}"`)).map((l) => JSON.parse(l.slice(l.indexOf('{'))));

before(async () => {
  dir = await tempDir('store-faults');
  users = await startBackend('users', await freePort());
  kv = await startKvStore();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const config = await writeConfig('store-faults', {
    port,
    modules: MODULES.gateway,
    kvStore: kv.port,
    limiter: path.relative(OUT, path.join(ROOT, 'tests/e2e/fixtures/faulty-limiter.mjs')),
    vars: {
      GATEWAY_ENV: 'local', ROUTES_REFRESH_MS: String(REFRESH_MS), ROUTES_LOAD_TIMEOUT_MS: String(LOAD_TIMEOUT_MS),
      RATE_LIMIT_TIMEOUT_MS: String(LIMIT_TIMEOUT_MS),
    },
  });
  // The isolate's first load meets a failing store: the gateway answers 503 and starts.
  kv.fault = 'fail';
  gw = await serve(config, `${url}/api/users/1`, { status: 503, logs: true });
});

after(async () => {
  await gw?.stop();
  await kv?.close();
  await stopAll();
});

test('first load: KV failing, slow or resetting answers 503 within the load timeout, then the table loads', async () => {
  const causes = {
    fail: /KV GET failed: 500/, hang: /no answer from KV within 400 ms/, slow: /no answer from KV within 400 ms/, reset: /reading routes\/active/,
  };
  for (const [fault, cause] of Object.entries(causes)) {
    kv.fault = fault;
    kv.slowMs = LOAD_TIMEOUT_MS * 3;
    const from = gw.logs().length;
    const r = await get('/api/users/1');
    assert.equal(r.status, 503, fault);
    assert.equal(JSON.parse(r.body).title, 'Route Table Unavailable', fault);
    assert.ok(r.ms < LOAD_TIMEOUT_MS + 1500, `${fault}: answered in ${r.ms} ms`);
    const [logged] = await eventually(() => events('route_table_error', from).find((e) => cause.test(e.error)), 2000);
    assert.equal(logged.serving, null);
  }
  kv.fault = null;
  const version = kv.publish(await compile('a'));
  const r = await get('/api/users/1');
  assert.equal(r.status, 200);
  assert.equal(r.version, version);
});

test('refresh: a failing, slow or resetting KV keeps the last good table, and no request waits for it', async () => {
  const serving = (await get('/api/users/1')).version;
  const next = kv.publish(await compile('b'));
  for (const [fault, cause] of [['fail', /KV GET failed: 500/], ['hang', /no answer from KV within/], ['reset', /reading routes/]]) {
    kv.fault = fault;
    const from = gw.logs().length;
    const started = Date.now();
    while (Date.now() - started < LOAD_TIMEOUT_MS + 3 * REFRESH_MS) {
      const r = await get('/api/users/1');
      assert.equal(r.status, 200, fault);
      assert.equal(r.version, serving, `${fault}: still the last good table`);
      assert.ok(r.ms < 250, `${fault}: a request took ${r.ms} ms`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const [logged] = await eventually(() => events('route_table_error', from).find((e) => cause.test(e.error) && e.serving !== null), 2000);
    assert.equal(logged.serving, serving, fault);
  }
  kv.fault = null;
  await eventually(async () => (await get('/api/users/1')).version === next, 3000);
});

test('rate-limit Durable Object: throwing or silent lets the request through (within RATE_LIMIT_TIMEOUT_MS) and logs rate_limit_error', async () => {
  const cases = [
    { policy: 'throws', error: /limiter storage failed/, atLeast: 0 },
    { policy: 'hangs', error: new RegExp(`no answer within ${LIMIT_TIMEOUT_MS} ms`), atLeast: LIMIT_TIMEOUT_MS },
  ];
  for (const { policy, error, atLeast } of cases) {
    const from = gw.logs().length;
    const r = await get(`/limited/${policy}/1`);
    assert.equal(r.status, 200, policy);
    assert.equal(JSON.parse(r.body).id, 1);
    assert.ok(r.ms >= atLeast - 20 && r.ms < LIMIT_TIMEOUT_MS + 1000, `${policy}: answered in ${r.ms} ms`);
    const [logged] = await eventually(() => events('rate_limit_error', from).find((e) => error.test(e.error)), 2000);
    assert.equal(logged.policy, `limiter-${policy}`);
  }
  const ok = await get('/limited/ok/1');
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('ratelimit'), /"limiter-ok";r=9/);
});
