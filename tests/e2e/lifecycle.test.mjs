// Route table lifecycle against wrangler dev's local KV and D1: publish, no-op, rollback,
// history — a cutover under load with zero failed requests, and bad input that changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ROOT, applyMigrations, freePort, startBackend, startGateway, stopAll, wrangler,
} from '../../scripts/lib/stack.mjs';
import { eventually, routeFile, tempDir } from './support.mjs';

const REFRESH_MS = 500;
const CLIENTS = 4;
const MIN_REQUESTS = 5000;
let dir, gw, ports, tableA, tableB;
const versions = {};

/** Runs gatewayctl against the test's local state; never throws. */
function ctl(args, env = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(path.join(ROOT, 'target/debug/gatewayctl'), [...args, '--persist-to', dir, '--author', 'e2e'], {
      cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr, started, ms: Date.now() - started }));
  });
}

/** When, in wall-clock ms, gatewayctl reported the pointer written (its own step timer). */
function pointerWrittenAt(result) {
  const m = result.stderr.match(/\[\s*([\d.]+)s\] routes\/active → /);
  assert.ok(m, result.stderr);
  return result.started + Number(m[1]) * 1000;
}

async function d1(sql) {
  const { stdout } = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--json', '--command', sql]);
  return JSON.parse(stdout)[0].results;
}

/** Everything KV and D1 hold about route tables. */
async function snapshot() {
  const { stdout } = await wrangler(['kv', 'key', 'list', '--binding', 'ROUTES', '--local', '--persist-to', dir]);
  const { stdout: active } = await wrangler(['kv', 'key', 'get', 'routes/active', '--binding', 'ROUTES', '--local', '--persist-to', dir, '--text']);
  return {
    keys: JSON.parse(stdout).map((k) => k.name).sort(),
    active,
    versions: await d1('SELECT * FROM route_versions ORDER BY version'),
    activations: await d1('SELECT * FROM route_activations ORDER BY id'),
  };
}

before(async () => {
  dir = await tempDir('lifecycle');
  ports = { users: await freePort(), orders: await freePort(), closed: await freePort() };
  tableA = await routeFile(dir, ports, 'a.toml');
  tableB = await routeFile(dir, ports, 'b.toml',
    '\n[[routes]]\nid = "added-in-b"\nmethods = ["GET"]\npath = "/b-only"\nupstream = "users"\n');
  await Promise.all([startBackend('users', ports.users), startBackend('orders', ports.orders)]);
  await applyMigrations(dir);
  gw = await startGateway({ port: await freePort(), persistTo: dir, vars: { ROUTES_REFRESH_MS: REFRESH_MS } });
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('publish records the version; publishing it again is a no-op', async () => {
  const first = await ctl(['publish', tableA, '--local', '--note', 'first']);
  assert.equal(first.code, 0, first.stderr);
  versions.a = first.stdout.trim();
  console.log(`# publish took ${first.ms} ms`);
  const again = await ctl(['publish', tableA, '--local']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), versions.a);
  assert.match(again.stderr, /unchanged: .* nothing was published/);
  const rows = await d1('SELECT version, note, author, route_count FROM route_versions');
  assert.deepEqual(rows, [{ version: versions.a, note: 'first', author: 'e2e', route_count: 11 }]);
  const [res] = await eventually(async () => {
    const r = await fetch(`${gw.url}/users/1`);
    return r.headers.get('x-gateway-route-version') === versions.a ? r : null;
  }, 5000);
  assert.equal(res.status, 200);
});

test('cutover under load: publish and roll back with zero failed requests', { timeout: 240_000 }, async () => {
  const log = [];
  let stop = false;
  const client = async (n) => {
    for (let i = 0; !stop; i++) {
      const p = i % 2 ? '/users/1' : `/echo/load-${n}`;
      const started = Date.now();
      try {
        const res = await fetch(`${gw.url}${p}`);
        await res.arrayBuffer();
        log.push({ started, status: res.status, version: res.headers.get('x-gateway-route-version') });
      } catch (e) {
        log.push({ started, status: 0, error: String(e) });
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));

  const switches = [];
  const settle = () => new Promise((r) => setTimeout(r, REFRESH_MS + 1500));
  await settle();
  const steps = [
    ['publish', ['publish', tableB, '--local', '--note', 'add /b-only'], () => 'b'],
    ['rollback', ['rollback', '--local'], () => 'a'],
    ['rollback', ['rollback', '--local'], () => 'b'],
    ['rollback', ['rollback', '--local', '--to', versions.a], () => 'a'],
  ];
  for (const [action, args, which] of steps) {
    const result = await ctl(args);
    assert.equal(result.code, 0, result.stderr);
    if (action === 'publish') versions.b = result.stdout.trim();
    assert.equal(result.stdout.trim(), versions[which()]);
    switches.push({ action, version: versions[which()], spawned: result.started, at: pointerWrittenAt(result), ms: result.ms });
    await settle();
  }
  while (log.length < MIN_REQUESTS) await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await Promise.all(clients);

  const failed = log.filter((r) => r.status !== 200);
  assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 5))}`);
  assert.ok(log.length >= MIN_REQUESTS, `${log.length} requests`);
  assert.ok(log.every((r) => r.version === versions.a || r.version === versions.b), 'every response names its version');

  for (const [i, s] of switches.entries()) {
    // Until the next command starts: no other pointer write can happen before then.
    const until = switches[i + 1]?.spawned ?? Infinity;
    const window = log.filter((r) => r.started >= s.at && r.started < until);
    const stale = window.filter((r) => r.version !== s.version);
    const lag = stale.length ? Math.max(...stale.map((r) => r.started - s.at)) : 0;
    console.log(`# ${s.action} → ${s.version}: command ${s.ms} ms, last old-version request started ${lag} ms after the pointer write (${window.length} requests)`);
    assert.ok(lag <= REFRESH_MS + 1000, `${s.action} took ${lag} ms to reach every client`);
    assert.ok(window.some((r) => r.version === s.version), 'the new version served requests');
  }
  console.log(`# ${log.length} requests from ${CLIENTS} clients, 0 failed, ${switches.length} switches`);
});

test('history in D1 matches what was done, and KV agrees', async () => {
  const rows = await d1('SELECT version, previous, action, author FROM route_activations ORDER BY id');
  const { a, b } = versions;
  assert.deepEqual(rows, [
    { version: a, previous: null, action: 'publish', author: 'e2e' },
    { version: b, previous: a, action: 'publish', author: 'e2e' },
    { version: a, previous: b, action: 'rollback', author: 'e2e' },
    { version: b, previous: a, action: 'rollback', author: 'e2e' },
    { version: a, previous: b, action: 'rollback', author: 'e2e' },
  ]);
  const status = await ctl(['status', '--local']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(status.stdout, `environment: local\nactive in KV: ${a}\nactive in D1: ${a}\nin agreement\n`);
  const history = await ctl(['history', '--local']);
  assert.equal(history.code, 0, history.stderr);
  const lines = history.stdout.split('\n');
  assert.match(lines[1], new RegExp(`^  ${b} +12 routes .* e2e  "add /b-only"$`));
  assert.match(lines[2], new RegExp(`^\\* ${a} +11 routes .* e2e  "first"$`));
  assert.match(lines[4], new RegExp(`^  #5 +\\S+  rollback  ${b} → ${a}  by e2e$`));
});

test('bad input is refused with a clear message and leaves KV and D1 exactly as they were', { timeout: 120_000 }, async () => {
  const before = await snapshot();
  const bad = path.join(dir, 'bad.toml');
  const cases = [
    ['invalid TOML', 'routes = [', ['publish', bad, '--local'], /bad\.toml:1:\d+: invalid array[\s\S]*\nnothing was changed/],
    ['conflicting paths', '[upstreams.u.env.local]\norigins = ["http://127.0.0.1:1"]\n[[routes]]\nid = "a"\npath = "/x/{id}"\nupstream = "u"\n[[routes]]\nid = "b"\npath = "/x/{name}"\nupstream = "u"\n',
      ['publish', bad, '--local'], /bad\.toml:8:6: route `b`: path conflicts with route `a` \[local\]/],
    ['unknown upstream', '[upstreams.u.env.local]\norigins = ["http://127.0.0.1:1"]\n[[routes]]\nid = "a"\npath = "/x"\nupstream = "nope"\n',
      ['publish', bad, '--local'], /route `a`: unknown upstream `nope`/],
    ['rollback to a version that does not exist', null, ['rollback', '--local', '--to', '20200101T000000000Z-deadbeef'],
      /version 20200101T000000000Z-deadbeef was never published to local .*\nnothing was changed/],
    ['rollback to the active version', null, ['rollback', '--local', '--to', versions.a], /is already active\nnothing was changed/],
    ['production without a wrangler login', null, ['publish', 'routes.toml', '--env', 'production'],
      /CLOUDFLARE_API_TOKEN[\s\S]*next: run `npx wrangler login`[\s\S]*nothing was changed/],
  ];
  for (const [name, text, args, message] of cases) {
    if (text !== null) await writeFile(bad, text);
    const result = await ctl(args, { CLOUDFLARE_API_TOKEN: '' });
    assert.equal(result.code, 1, `${name}: ${result.stderr}`);
    assert.match(result.stderr, message, name);
  }
  assert.deepEqual(await snapshot(), before);
});
