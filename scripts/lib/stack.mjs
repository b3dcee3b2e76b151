// Starts and stops the local stack — sample backends, wrangler dev (workerd with local KV and
// D1) — and runs wrangler and gatewayctl commands against it. Used by `npm run dev` and by the
// end-to-end tests, so both exercise the same wiring.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'node_modules/.bin');
const WRANGLER = path.join(BIN, 'wrangler');
const ENV = {
  ...process.env,
  PATH: `${BIN}:${process.env.HOME}/.cargo/bin:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: 'false',
  NO_COLOR: '1',
};

const children = new Set();

/** A TCP port that was free a moment ago. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** Whether something accepts connections on 127.0.0.1:port. */
export async function portInUse(port) {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await once(server, 'listening');
    server.close();
    await once(server, 'close');
    return false;
  } catch {
    return true;
  }
}

/** Runs a command to completion; rejects with its output if it fails. */
export function run(cmd, args, { quiet = true, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; if (!quiet) process.stdout.write(d); });
    child.stderr.on('data', (d) => { err += d; if (!quiet) process.stderr.write(d); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout: out, stderr: err });
      else reject(Object.assign(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}\n${out}${err}`), { code, stdout: out, stderr: err }));
    });
  });
}

/** `wrangler …` with the project's Node and config. */
export function wrangler(args, opts) {
  return run(WRANGLER, args, opts);
}

/** Local-state flags for a persistence directory (undefined: wrangler's default .wrangler/state). */
function persistArgs(persistTo) {
  return persistTo ? ['--persist-to', persistTo] : [];
}

/** Applies D1 migrations to the local database. */
export function applyMigrations(persistTo, opts) {
  return wrangler(['d1', 'migrations', 'apply', 'DB', '--local', ...persistArgs(persistTo)], opts);
}

/** Writes a KV value in the local ROUTES namespace. */
export function kvPut(key, value, persistTo) {
  return wrangler(['kv', 'key', 'put', key, value, '--binding', 'ROUTES', '--local', ...persistArgs(persistTo)]);
}

/** `gatewayctl publish FILE --env local --local`; resolves to the new version id. `config`:
 *  the wrangler configuration whose bindings the table is checked against (default
 *  wrangler.toml). */
export async function publishLocal(file, persistTo, { config, ...opts } = {}) {
  const gatewayctl = path.join(ROOT, 'target/debug/gatewayctl');
  const args = ['publish', file, '--env', 'local', '--local', ...persistArgs(persistTo)];
  if (config) args.push('--config', config);
  const { stdout, stderr } = await run(gatewayctl, args, opts);
  return { version: stdout.trim(), log: stderr };
}

/** Writes `dir`/wrangler.toml: the gateway's wrangler.toml with `extra` (TOML) appended and
 *  its paths (`main`, `watch_dir`, `migrations_dir`: relative to the file) pointing back
 *  into the repository; the `[build]` command runs where wrangler runs, the repository. For
 *  tests that need bindings `npm run dev` does not declare. */
export async function gatewayConfig(dir, extra) {
  const up = path.relative(dir, ROOT);
  const rebase = (value) => value.replace(/"([^"]*)"/g, (_, p) => JSON.stringify(path.join(up, p)));
  let moved = 0;
  const text = (await readFile(path.join(ROOT, 'wrangler.toml'), 'utf8')).replace(
    /^((?:main|watch_dir|migrations_dir) = )(.*)$/gm,
    (_, key, value) => { moved += 1; return key + rebase(value); },
  );
  if (moved < 3) throw new Error(`wrangler.toml: expected main, watch_dir and migrations_dir, moved ${moved}`);
  const file = path.join(dir, 'wrangler.toml');
  await writeFile(file, `${text}\n${extra}`);
  return file;
}

/** Keeps a child's output for later inspection (and optionally echoes it). */
function capture(child, name, echo) {
  const lines = [];
  const take = (stream, sink) => stream.on('data', (d) => {
    lines.push(String(d));
    if (echo) sink.write(String(d).replace(/^(?=.)/gm, `[${name}] `));
  });
  take(child.stdout, process.stdout);
  take(child.stderr, process.stderr);
  return lines;
}

/** Tracks a child of the stack (stopped by `stopAll`), keeping its output. */
export function track(child, name, echo) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  const output = capture(child, name, echo);
  return {
    name,
    child,
    output: () => output.join(''),
    exited: once(child, 'exit'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit').catch(() => {});
      clearTimeout(timer);
    },
  };
}

/** Polls url until it answers (any status) or the deadline passes. */
export async function waitForHttp(url, { timeoutMs = 60_000, proc } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) {
      throw new Error(`${proc.name} exited (${proc.child.exitCode}) before answering:\n${proc.output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${last}\n${proc ? proc.output() : ''}`);
}

/** Starts a sample backend (built in target/debug, or target/release) on port; resolves when /healthz answers. */
export async function startBackend(name, port, { echo = false, release = false } = {}) {
  const child = spawn(path.join(ROOT, release ? 'target/release' : 'target/debug', name), [], {
    cwd: ROOT, env: { ...ENV, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(child, name, echo);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, { timeoutMs: 15_000, proc });
  return { ...proc, port, url: `http://127.0.0.1:${port}` };
}

/** Starts `wrangler dev` on port; resolves when the worker answers. `configs`: wrangler
 *  configurations to run together (`-c` each; the first is the gateway's, the others are
 *  workers it binds to), default wrangler.toml alone. `profile`: which worker build to
 *  serve, `release` (build/) or `dev` (build-dev/), as scripts/build-worker.sh makes them;
 *  wrangler's [build] command remakes it when sources change. */
export async function startGateway({
  port, persistTo, vars = {}, echo = false, testScheduled = false, configs = [], profile = 'release',
}) {
  const inspector = await freePort();
  const entry = profile === 'dev' ? ['build-dev/worker/shim.mjs'] : [];
  const args = ['dev', ...entry, ...configs.flatMap((c) => ['-c', c]), '--port', String(port), '--ip', '127.0.0.1',
    '--inspector-port', String(inspector), '--log-level', 'log', ...persistArgs(persistTo)];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  if (testScheduled) args.push('--test-scheduled');
  const child = spawn(WRANGLER, args, { cwd: ROOT, env: { ...ENV, WORKER_PROFILE: profile, ...(profile === 'dev' ? { KEEP_LAST_GOOD: '1' } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = track(child, 'gateway', echo);
  await waitForHttp(`http://127.0.0.1:${port}/__gateway/ready`, { timeoutMs: 120_000, proc });
  return { ...proc, port, url: `http://127.0.0.1:${port}` };
}

/** Stops every child this module started. */
export async function stopAll() {
  await Promise.all([...children].map((child) => {
    child.kill('SIGTERM');
    return once(child, 'exit').catch(() => {});
  }));
}
