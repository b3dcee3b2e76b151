// Canary and shadow releases end to end, in wrangler dev (workerd, local KV and D1, the cron
// handler run on demand) in front of the real orders, orders-v2 and users backends. Which table
// served a request is read from `X-Gateway-Route-Version`, which backend from its own
// `x-served-by-service`. The scheduled job judges the canary from the traffic counts in D1:
// a candidate whose origin answers 500 is aborted, a healthy one is advanced through its steps
// and promoted — with four clients sending requests throughout and none failing because of the
// release machinery. A shadow version is looked up beside the active one and reports exactly
// the requests it would route differently, without serving any.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ROOT, applyMigrations, freePort, startBackend, startGateway, stopAll, wrangler,
} from '../../scripts/lib/stack.mjs';
import { eventually, events, tempDir } from './support.mjs';

const REFRESH_MS = 500;
const FLUSH_MS = 1000; // the least flush interval the gateway accepts
const CLIENTS = 4;
// Sticky keys (`x-user-id`) each client cycles through: few enough that a step's window of a
// couple of seconds sees nearly all of them (so the share measured hardly varies), and prime
// to the number of paths (so each key visits every path).
const KEYS_PER_CLIENT = 25;
const PAUSE_MS = 15; // between a client's requests: leaves CPU to wrangler and gatewayctl
const INTERVAL_S = 4; // the healthy canary's step interval
const SETTLE_MS = REFRESH_MS + 1000; // a pointer change reaches every request by then
let dir, gw, ports;
const versions = {}; // a: stable, b: failing candidate, c: healthy candidate, d: shadow

const T0 = Date.now();
/** A progress line with the time since the file started. */
const note = (text) => console.log(`# [${((Date.now() - T0) / 1000).toFixed(1)} s] ${text}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The route table: orders, users and an echo under /api, with `orders-get` sent to `orders`
 *  unless `ordersGet` says otherwise, and `users-get` to `users` unless `usersTo` does. */
function table({ ordersGet = 'upstream = "orders"\nrewrite = { template = "/orders/{id}" }', usersTo = 'users' } = {}) {
  const upstream = (name, port) => `[upstreams.${name}]\ntimeout_ms = 5000\n[upstreams.${name}.env.local]\norigins = ["http://127.0.0.1:${port}"]\n\n`;
  return upstream('orders', ports.orders) + upstream('orders-v2', ports.ordersV2) + upstream('users', ports.users)
    + `[[routes]]\nid = "orders-get"\nmethods = ["GET"]\npath = "/api/orders/{id}"\n${ordersGet}\n\n`
    + `[[routes]]\nid = "users-get"\nmethods = ["GET"]\npath = "/api/users/{id}"\nupstream = "${usersTo}"\nrewrite = { template = "/users/{id}" }\n\n`
    + '[[routes]]\nid = "echo"\nmethods = ["GET"]\npath = "/api/echo/{*rest}"\nupstream = "users"\nrewrite = { template = "/echo/{rest}" }\n';
}

/** Writes `text` as `name` in the test's directory; returns its path. */
async function file(name, text) {
  const at = path.join(dir, name);
  await writeFile(at, text);
  return at;
}

/** Runs gatewayctl against the test's local state; never throws. */
function ctl(args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(path.join(ROOT, 'target/debug/gatewayctl'), [...args, '--local', '--persist-to', dir, '--author', 'e2e'], {
      cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** gatewayctl that must succeed; resolves to its stdout, trimmed. */
async function ctlOk(args) {
  const result = await ctl(args);
  assert.equal(result.code, 0, `gatewayctl ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  note(`gatewayctl ${args[0]} ${args[0] === 'publish' ? args.slice(2).join(' ') : args.slice(1).join(' ')}: ${result.ms} ms`);
  return result.stdout.trim();
}

async function d1(sql) {
  const { stdout } = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--json', '--command', sql]);
  return JSON.parse(stdout)[0].results;
}

async function kvGet(key) {
  const { stdout } = await wrangler(['kv', 'key', 'get', key, '--binding', 'ROUTES', '--local', '--persist-to', dir, '--text']);
  return stdout;
}

/** Runs the cron handler once (flush, then the canary's judge); resolves when it finished. */
async function scheduledRun() {
  const res = await fetch(`${gw.url}/__scheduled?cron=*+*+*+*+*`);
  await res.text();
  assert.equal(res.status, 200);
}

/** Runs the cron handler every `every` ms until the gateway logs one of `names` (after log
 *  offset `since`), at most `ms`; resolves to the event, with `at` (when the run that logged it
 *  started), `done` (when it ended) and `runs`. */
async function scheduleUntil(names, since, { ms = 20_000, every = 400 } = {}) {
  const start = Date.now();
  let runs = 0;
  while (Date.now() - start < ms) {
    const at = Date.now();
    await scheduledRun();
    runs += 1;
    const found = names.flatMap((event) => events(gw, { event }, since))[0];
    if (found) return { ...found, at, done: Date.now(), runs };
    await sleep(every);
  }
  const seen = events(gw, {}, since).filter((e) => String(e.event).startsWith('canary')).slice(-3);
  throw new Error(`no ${names.join('/')} within ${ms} ms (${runs} scheduled runs); last canary events: ${JSON.stringify(seen)}`);
}

/** Requests from `CLIENTS` clients, one at a time each, until stopped: client n sends the
 *  paths in turn, each with the next of its keys `user-n-0…` as `x-user-id`. Every answer is
 *  logged with when it started, its status, table version and backend (status 0: no answer). */
const running = new Set(); // loads to stop if a test fails before it stops its own
function load(paths) {
  const log = [];
  let stop = false;
  const client = async (n) => {
    for (let i = 0; !stop; i++) {
      const p = paths[i % paths.length];
      const key = `user-${n}-${i % KEYS_PER_CLIENT}`;
      const started = Date.now();
      try {
        const res = await fetch(`${gw.url}${p}`, { headers: { 'x-user-id': key } });
        await res.arrayBuffer();
        log.push({
          started, path: p, key, status: res.status,
          version: res.headers.get('x-gateway-route-version'), served: res.headers.get('x-served-by-service'),
        });
      } catch (e) {
        log.push({ started, path: p, key, status: 0, error: String(e) });
      }
      await sleep(PAUSE_MS);
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
  const handle = {
    log,
    async stop() {
      stop = true;
      running.delete(handle);
      await Promise.all(clients);
      return log;
    },
  };
  running.add(handle);
  return handle;
}

/** What the release machinery itself may have caused: no answer, or a 502/503/504. */
const machineryFailure = (r) => r.status === 0 || r.status === 502 || r.status === 503 || r.status === 504;

/** Per sticky key, the set of versions its requests in `log` were served by. */
function versionsByKey(log) {
  const by = new Map();
  for (const r of log) {
    if (!by.has(r.key)) by.set(r.key, new Set());
    by.get(r.key).add(r.version);
  }
  return by;
}

const between = (log, from, to) => log.filter((r) => r.started >= from && r.started < to);

before(async () => {
  dir = await tempDir('canary');
  ports = { orders: await freePort(), ordersV2: await freePort(), users: await freePort() };
  await Promise.all([
    startBackend('orders', ports.orders), startBackend('orders-v2', ports.ordersV2), startBackend('users', ports.users),
  ]);
  await applyMigrations(dir);
  [versions.a, gw] = await Promise.all([
    ctlOk(['publish', await file('a.toml', table()), '--note', 'stable']),
    startGateway({
      port: await freePort(), persistTo: dir, testScheduled: true,
      vars: { ROUTES_REFRESH_MS: REFRESH_MS, STATS_FLUSH_MS: FLUSH_MS },
    }),
  ]);
  await eventually(async () => {
    const res = await fetch(`${gw.url}/api/orders/1`);
    await res.arrayBuffer();
    return res.status === 200 && res.headers.get('x-gateway-route-version') === versions.a;
  }, 10_000, 100);
});

after(async () => {
  await Promise.all([...running].map((l) => l.stop()));
  if (gw && /building the gateway worker|Reloading|rebuil/i.test(gw.output())) {
    console.log('# NOTE: wrangler dev rebuilt or reloaded the worker during this run (src changed)');
  }
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a candidate whose origin answers 500 is aborted by the gateway; traffic returns to stable', { timeout: 120_000 }, async () => {
  // B: orders-get goes to an origin path that always answers 500.
  const tableB = await file('b.toml', table({ ordersGet: 'upstream = "users"\nrewrite = { template = "/_test/status/500" }' }));
  const traffic = load(['/api/orders/1', '/api/users/1']);
  await sleep(SETTLE_MS);
  const since = gw.output().length;
  versions.b = await ctlOk(['publish', tableB, '--canary', '50', '--sticky', 'header:x-user-id', '--min-requests', '40']);
  const published = Date.now();
  const aborted = await scheduleUntil(['canary_aborted', 'canary_promoted', 'canary_advanced'], since);
  assert.equal(aborted.event, 'canary_aborted', JSON.stringify(aborted));
  const abortMs = aborted.done - published;
  note(`aborted by scheduled run ${aborted.runs}, ${abortMs} ms after the publish: ${aborted.reason}`);
  assert.ok(abortMs < 10_000, `the abort took ${abortMs} ms`);

  // While the workers refresh and stable serves alone: what gatewayctl and D1 say.
  const backOn = aborted.done + SETTLE_MS;
  const [status, history, rows] = await Promise.all([
    ctlOk(['status']),
    ctlOk(['history']),
    d1('SELECT version, previous, action, author, reason FROM route_activations ORDER BY id'),
    sleep(SETTLE_MS + 1500),
  ]);
  const log = await traffic.stop();

  assert.doesNotMatch(status, /^canary:/m, status);
  assert.match(status, new RegExp(`^active in KV: ${versions.a}\nactive in D1: ${versions.a}$`, 'm'), status);
  assert.deepEqual(rows.map((r) => [r.action, r.author, r.version, r.previous]), [
    ['publish', 'e2e', versions.a, null],
    ['canary', 'e2e', versions.b, versions.a],
    ['abort', 'gateway', versions.a, versions.b],
  ]);
  assert.match(rows[2].reason, /^candidate error rate \d+\.\d% vs stable 0\.0% over \d+ requests/, rows[2].reason);
  const lines = history.split('\n');
  const at = lines.findIndex((l) => l.endsWith(` abort     ${versions.b} → ${versions.a}  by gateway`));
  assert.ok(at > 0, history);
  assert.equal(lines[at + 1].trim(), rows[2].reason, history);

  // Every answer is a success or the candidate's own origin 500: none failed because of the
  // release machinery; each sticky key saw one version while the canary ran.
  const candidate500 = (r) => r.status === 500 && r.version === versions.b && r.path === '/api/orders/1' && r.served === 'users';
  const failed = log.filter((r) => r.status !== 200 && !candidate500(r));
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${log.length} requests failed otherwise`);
  assert.equal(log.filter(machineryFailure).length, 0);
  const onB = log.filter((r) => r.version === versions.b);
  assert.ok(onB.some(candidate500), 'the candidate served requests and its origin answered 500');
  const during = versionsByKey(between(log, published, aborted.at));
  const split = [...during.entries()].filter(([, v]) => v.size > 1).map(([k]) => k);
  assert.deepEqual(split, [], 'keys served by both versions during the canary');

  // Once the workers have refreshed, the stable version serves everything, from its origin.
  const afterwards = log.filter((r) => r.started >= backOn);
  assert.ok(afterwards.length > 20, `${afterwards.length} requests after the abort`);
  const stray = afterwards.filter((r) => r.version !== versions.a || r.status !== 200);
  assert.deepEqual(stray.slice(0, 5), [], `${stray.length} requests after the abort not served by ${versions.a}`);
  assert.ok(afterwards.filter((r) => r.path === '/api/orders/1').every((r) => r.served === 'orders'));
  const lastB = Math.max(...onB.map((r) => r.started));
  note(`${log.length} requests, ${onB.length} on the candidate, the last one ${lastB - aborted.done} ms after the aborting run ended`);
});

test('a healthy candidate is advanced through its steps and promoted; no request fails', { timeout: 120_000 }, async () => {
  // C: orders-get goes to orders-v2.
  const tableC = await file('c.toml', table({ ordersGet: 'upstream = "orders-v2"\nrewrite = { template = "/orders/{id}" }' }));
  const traffic = load(['/api/orders/1', '/api/users/1', '/api/echo/canary']);
  await sleep(SETTLE_MS);
  const since = gw.output().length;
  versions.c = await ctlOk(['publish', tableC, '--canary', '10', '--sticky', 'header:x-user-id',
    '--steps', '10,50,100', '--interval', `${INTERVAL_S}s`, '--min-requests', '20']);
  const published = Date.now();

  // At 10 %, until the judge is asked (its interval is over by then: it started with the publish).
  const [status] = await Promise.all([ctlOk(['status']), sleep(SETTLE_MS + 3000)]);
  assert.match(status, new RegExp(`^canary: ${versions.c} on 10% of requests \\(sticky header:x-user-id\\); steps 10%, 50%, 100% every ${INTERVAL_S}s; after 20 requests`, 'm'), status);
  const advanced = await scheduleUntil(['canary_advanced', 'canary_promoted', 'canary_aborted'], since);
  assert.equal(advanced.event, 'canary_advanced', JSON.stringify(advanced));
  assert.match(advanced.reason, /; 10% → 50%$/, advanced.reason);
  const waits = gw.output().length;
  const promoted = await scheduleUntil(['canary_promoted', 'canary_aborted'], waits);
  assert.equal(promoted.event, 'canary_promoted', JSON.stringify(promoted));
  note(`step to 50 % by scheduled run ${advanced.runs}, ${advanced.done - published} ms after the publish; promoted by run ${promoted.runs}, ${promoted.done - advanced.at} ms later`);
  assert.ok(promoted.done - advanced.at >= INTERVAL_S * 1000, 'the judge waited for the interval at 50 %');
  assert.ok(events(gw, { event: 'canary_wait' }, waits).some((e) => / next step in \d+s$/.test(e.reason)), 'waits logged');

  const startAll = promoted.done + SETTLE_MS;
  const [active, after, rows] = await Promise.all([
    kvGet('routes/active'),
    ctlOk(['status']),
    d1('SELECT version, previous, action, author, reason FROM route_activations WHERE id > 3 ORDER BY id'),
    sleep(SETTLE_MS + 1500),
  ]);
  const log = await traffic.stop();

  assert.equal(active.trim(), versions.c);
  assert.doesNotMatch(after, /^canary:/m, after);
  assert.match(after, new RegExp(`^active in KV: ${versions.c}\nactive in D1: ${versions.c}$`, 'm'), after);
  assert.deepEqual(rows.map((r) => [r.action, r.author, r.version, r.previous]), [
    ['canary', 'e2e', versions.c, versions.a],
    ['step', 'gateway', versions.c, versions.a],
    ['promote', 'gateway', versions.c, versions.a],
  ]);
  assert.match(rows[1].reason, /^healthy at 10%: .* 10% → 50%$/, rows[1].reason);
  assert.match(rows[2].reason, /^healthy at 50%: .*next step is 100%$/, rows[2].reason);

  const failed = log.filter((r) => r.status !== 200);
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${log.length} requests failed`);
  assert.ok(log.every((r) => r.version === versions.a || r.version === versions.c), 'every response names A or C');
  assert.ok(log.filter((r) => r.path === '/api/orders/1').every((r) => r.served === (r.version === versions.c ? 'orders-v2' : 'orders')));

  // The share at each step, per sticky key: each key sees one version, about the step's share
  // of the keys sees the candidate, and a key on the candidate at 10 % stays on it at 50 %.
  const share = (from, to, percent, tolerance) => {
    const window = between(log, from, to);
    const byKey = versionsByKey(window);
    const split = [...byKey.entries()].filter(([, v]) => v.size > 1).map(([k]) => k);
    assert.deepEqual(split, [], `keys served by both versions at ${percent} %`);
    const onC = [...byKey.entries()].filter(([, v]) => v.has(versions.c)).map(([k]) => k);
    const got = (onC.length * 100) / byKey.size;
    note(`at ${percent} %: ${window.length} requests over ${to - from} ms, ${byKey.size} keys, ${got.toFixed(1)} % of them on the candidate`);
    assert.ok(byKey.size >= 0.9 * CLIENTS * KEYS_PER_CLIENT, `only ${byKey.size} keys seen at ${percent} %`);
    assert.ok(Math.abs(got - percent) <= tolerance, `${got.toFixed(1)} % of keys on the candidate at ${percent} %`);
    return byKey;
  };
  const at10 = share(published + SETTLE_MS, advanced.at, 10, 8);
  const at50 = share(advanced.done + SETTLE_MS, promoted.at, 50, 15);
  const back = [...at10.entries()].filter(([k, v]) => v.has(versions.c) && at50.get(k)?.has(versions.a)).map(([k]) => k);
  assert.deepEqual(back, [], 'keys on the candidate at 10 % served by stable at 50 %');
  const promotedLog = log.filter((r) => r.started >= startAll);
  assert.ok(promotedLog.length > 20 && promotedLog.every((r) => r.version === versions.c), 'C serves everything once promoted');
  note(`${log.length} requests from ${CLIENTS} clients, 0 failed`);
});

test('a shadow that moves one route reports exactly the requests to it, and serves none', { timeout: 90_000 }, async () => {
  assert.ok(versions.c, 'runs after the promotion');
  // D: users-get goes to orders instead of users; nothing else changes.
  const tableD = await file('d.toml', table({ ordersGet: 'upstream = "orders-v2"\nrewrite = { template = "/orders/{id}" }', usersTo: 'orders' }));
  const since = gw.output().length;
  versions.d = await ctlOk(['publish', tableD, '--shadow']);
  // Requests the shadow agrees on, until the gateway has loaded it.
  await eventually(async () => {
    const res = await fetch(`${gw.url}/api/orders/1`);
    await res.arrayBuffer();
    return events(gw, { event: 'route_table_loaded', shadow: versions.d }, since).length > 0;
  }, 10_000, 100);

  const sent = [];
  for (let i = 0; i < 30; i++) sent.push(`/api/users/${(i % 2) + 1}`);
  for (let i = 0; i < 40; i++) sent.push(`/api/orders/${(i % 2) + 1}`);
  for (let i = 0; i < 20; i++) sent.push(`/api/echo/shadow-${i}`);
  for (let i = 0; i < 10; i++) sent.push(`/api/nowhere/${i}`);
  const answers = [];
  let next = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < sent.length) {
      const p = sent[next++];
      const res = await fetch(`${gw.url}${p}`);
      await res.arrayBuffer();
      answers.push({ path: p, status: res.status, version: res.headers.get('x-gateway-route-version'), served: res.headers.get('x-served-by-service') });
    }
  }));
  const want = (p) => (p.startsWith('/api/nowhere/') ? 404 : 200);
  assert.deepEqual(answers.filter((a) => a.status !== want(a.path)), []);
  assert.deepEqual(answers.filter((a) => a.version !== versions.c), [], 'only the active version serves');
  const users = answers.filter((a) => a.path.startsWith('/api/users/'));
  assert.ok(users.every((a) => a.served === 'users'), 'the moved route is still served by users');

  await scheduledRun();
  // (`shadow report` shows the last shadow once it has ended.)
  const [report, diffs, ended] = await Promise.all([
    ctlOk(['shadow', 'report']),
    d1(`SELECT route, shadow_route, kind, SUM(requests) AS requests FROM shadow_diffs WHERE shadow = '${versions.d}' GROUP BY 1, 2, 3`),
    ctlOk(['shadow', 'end']),
  ]);
  console.log(report.replace(/^/gm, '# '));
  const lines = report.split('\n');
  assert.match(lines[0], new RegExp(`^shadow ${versions.d}: 30 requests served differently since `), report);
  assert.equal(lines[1], 'upstream (30 requests)', report);
  assert.match(lines[2], /^ {2}GET +30 {2}users \/users\/\{id\} → orders \/users\/\{id\} {2}\[users-get → users-get\] {2}e\.g\. \/api\/users\/[12]$/, report);
  assert.equal(lines.length, 3, report);
  assert.deepEqual(diffs, [{ route: 'users-get', shadow_route: 'users-get', kind: 'upstream', requests: 30 }]);
  assert.equal(ended, versions.c);
});
