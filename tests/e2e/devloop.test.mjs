// The development loop of `npm run dev`, in a temporary copy of the workspace (the
// repository's files are never touched): routes.toml published on save, an invalid edit
// refused while the old table serves, a backend edit restarting that backend alone, a worker
// edit served, a broken worker edit leaving the last good worker serving. Asserts behaviour;
// the reload times it prints are reported in the README.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, freePort, portInUse } from '../../scripts/lib/stack.mjs';
import { eventually, tempDir } from './support.mjs';

const BACKEND_PORTS = [9101, 9102, 9103, 9104]; // routes.toml's local origins and the identity provider
let copy; let dev; let port; let output = ''; let skip = null;

/** A copy of the working tree (tracked and untracked, not ignored files), sharing
 *  node_modules and seeded with hard links to the compiled dependencies in target/, so that
 *  only the workspace's own crates build again. Cargo replaces a file rather than writing
 *  into it, so the repository's build outputs stay as they are. */
async function workspaceCopy() {
  const dir = await tempDir('devloop');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT })
    .toString().split('\0').filter(Boolean);
  for (const file of files) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await copyFile(path.join(ROOT, file), path.join(dir, file)).catch((e) => { if (e.code !== 'ENOENT') throw e; });
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  for (const profile of ['debug', 'wasm32-unknown-unknown/debug']) {
    const from = path.join(ROOT, 'target', profile);
    const to = path.join(dir, 'target', profile);
    await mkdir(to, { recursive: true });
    const entries = (await readdir(from).catch(() => [])).filter((e) => e !== 'incremental');
    if (entries.length) execFileSync('cp', ['-al', ...entries.map((e) => path.join(from, e)), to]);
  }
  return dir;
}

/** Edits a file of the copy. */
async function edit(file, change) {
  const at = path.join(copy, file);
  await writeFile(at, change(await readFile(at, 'utf8')));
}

/** Waits for a `[dev] part: …` state line matching `pattern` printed after `from`. */
async function stateLine(from, part, pattern, ms = 240_000) {
  const [line] = await eventually(() => output.slice(from).split('\n')
    .find((l) => l.startsWith(`[dev] ${part}: `) && pattern.test(l)), ms, 100)
    .catch((e) => { throw new Error(`${e.message}; the loop printed:\n${output.slice(from).slice(-4000)}`); });
  console.log(`# ${line}`);
  return line;
}

const get = (p) => fetch(`http://127.0.0.1:${port}${p}`);
const NEW_ROUTE = '\n[[routes]]\nid = "devloop-added"\nmethods = ["GET"]\npath = "/devloop/users/{id}"\nupstream = "users"\nrewrite = { strip_prefix = "/devloop" }\n';

before(async () => {
  const busy = [];
  for (const p of BACKEND_PORTS) if (await portInUse(p)) busy.push(p);
  if (busy.length) {
    skip = `ports ${busy.join(', ')} are in use (a running npm run dev?)`;
    return;
  }
  copy = await workspaceCopy();
  port = await freePort();
  dev = spawn(path.join(ROOT, 'node_modules/.bin/node'), ['scripts/dev.mjs'], {
    cwd: copy,
    env: { ...process.env, GATEWAY_PORT: String(port), PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout.on('data', (d) => { output += d; });
  dev.stderr.on('data', (d) => { output += d; });
  await eventually(() => output.includes('[dev] stack: running') || dev.exitCode !== null, 240_000, 200);
  assert.equal(dev.exitCode, null, output);
});

after(async () => {
  if (dev && dev.exitCode === null) {
    dev.kill('SIGINT');
    const [code] = await once(dev, 'exit');
    assert.equal(code, 0, output.slice(-3000));
  }
  if (copy) await rm(copy, { recursive: true, force: true });
});

test('routes.toml: a saved route is live; an invalid edit is refused with its location and the old table serves', { timeout: 120_000 }, async (t) => {
  if (skip) return t.skip(skip);
  assert.equal((await get('/devloop/users/1')).status, 404);
  let from = output.length;
  await edit('routes.toml', (text) => text + NEW_ROUTE);
  const published = await stateLine(from, 'routes', /^\[dev\] routes: running \S+/);
  const version = /running (\S+)/.exec(published)[1];
  // Published to KV; the gateway follows within ROUTES_REFRESH_MS.
  await eventually(async () => (await get('/devloop/users/1')).headers.get('x-gateway-route-version') === version, 5000);
  assert.equal((await get('/devloop/users/1')).status, 200);
  assert.match(output.slice(from), /devloop-added/, 'the change is printed');

  from = output.length;
  await edit('routes.toml', (text) => `${text}\n[[routes]]\nid = "broken"\npath = "no-leading-slash"\nupstream = "nowhere"\n`);
  await stateLine(from, 'routes', /refused/);
  assert.match(output.slice(from), /routes\.toml:\d+:\d+: /, 'problems name file:line:column');
  const still = await get('/devloop/users/1');
  assert.equal(still.status, 200);
  assert.equal(still.headers.get('x-gateway-route-version'), version, 'the last good table keeps serving');
  await edit('routes.toml', (text) => text.slice(0, text.indexOf('\n[[routes]]\nid = "broken"')));
  await stateLine(from, 'routes', /running/);
});

test('a backend edit rebuilds and restarts that backend alone', { timeout: 300_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const from = output.length;
  await edit('backends/users/src/lib.rs', (text) => text.replace('"Ada Lovelace"', '"Ada King"'));
  await stateLine(from, 'users', /^\[dev\] users: running \(rebuilt and restarted/);
  const user = await (await get('/devloop/users/1')).json();
  assert.equal(user.name, 'Ada King');
  const others = output.slice(from).split('\n').filter((l) => /^\[dev\] (orders|orders-v2|idp): /.test(l));
  assert.deepEqual(others, [], 'the other backends were left alone');
  const orders = await get('/api/users/2/orders');
  assert.equal(orders.status, 200);
});

test('a new migration is applied to the local D1 when it appears', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const from = output.length;
  await writeFile(path.join(copy, 'migrations/9999_devloop.sql'), 'CREATE TABLE devloop_probe (id INTEGER PRIMARY KEY);\n');
  await stateLine(from, 'd1', /migrations applied/);
  const listed = execFileSync(path.join(ROOT, 'node_modules/.bin/wrangler'), ['d1', 'migrations', 'list', 'DB', '--local'], {
    cwd: copy, env: { ...process.env, PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}`, NO_COLOR: '1' },
  }).toString();
  assert.match(listed, /No migrations to apply/);
});

test('a worker edit is served; a broken one prints its error and the last good worker keeps serving', { timeout: 300_000 }, async (t) => {
  if (skip) return t.skip(skip);
  let from = output.length;
  await edit('src/problem.rs', (text) => text.replace('Self::NoRoute => "Not Found",', 'Self::NoRoute => "No Such Route",'));
  await stateLine(from, 'worker', /^\[dev\] worker: running/, 90_000);
  const edited = await eventually(async () => {
    const body = await (await get('/devloop-nothing-here')).json();
    return body.title === 'No Such Route' && body;
  }, 10_000);
  assert.ok(edited);

  from = output.length;
  await edit('src/problem.rs', (text) => text.replace('Self::NoRoute => "No Such Route",', 'Self::NoRoute => "No Such Route" +,'));
  await stateLine(from, 'worker', /build failed/);
  assert.match(output.slice(from), /error(\[E\d+\])?: /, 'the compiler\'s error is printed');
  const res = await get('/devloop-nothing-here');
  assert.equal(res.status, 404);
  assert.equal((await res.json()).title, 'No Such Route', 'the last good worker serves');
});
