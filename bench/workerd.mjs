// Serving a contender in raw `workerd serve`: a generated config per contender, with KV
// backed by kv-service.mjs, Rate Limiting bindings as wrapped bindings around
// ratelimit-binding.mjs, and outbound fetches allowed to loopback.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { ROOT } from '../scripts/lib/stack.mjs';

export const OUT = path.join(ROOT, 'bench/.out');
export const COMPAT_DATE = '2026-11-01'; // as wrangler.toml
const WORKERD = path.join(ROOT, 'node_modules/.bin/workerd');
/** The internal extension module every Rate Limiting binding wraps. */
const RATELIMIT_MODULE = 'bench-internal:ratelimit';

const text = (s) => JSON.stringify(String(s));

/** Module lists for each kind of contender (paths relative to OUT, where configs live). */
export const MODULES = {
  passthrough: [['passthrough.mjs', 'esModule', '../peers/passthrough.mjs']],
  hono: [['hono.mjs', 'esModule', 'hono.mjs']],
  gateway: [['index.js', 'esModule', '../../build/index.js'], ['index_bg.wasm', 'wasm', '../../build/index_bg.wasm']],
};

/** Writes a workerd config and returns its path. `ratelimits`: binding name → `{limit,
 *  period}`, as wrangler.toml's `[[ratelimits]]` `name` and `simple`. KV comes from `kvData`
 *  (a read-only object, served by kv-service.mjs) or `kvStore` (the port of a kv-store.mjs
 *  server, which the caller may change or make fail). `limiter`: the `RATE_LIMITER` Durable
 *  Object binding — 'gateway' for the gateway's own `RateLimiter` class (in memory), or the
 *  path (relative to OUT) of a module whose `RateLimiter` class stands in for it. `d1Store`:
 *  the port of a d1-store.mjs server, bound as the `DB` D1 database through workerd's own D1
 *  binding module (as wrangler binds a local D1); without it there is no `DB` binding. */
export async function writeConfig(name, { port, modules, vars = {}, kvData, kvStore, ratelimits = {}, limiter, d1Store }) {
  await mkdir(OUT, { recursive: true });
  const bindings = Object.entries(vars).map(([k, v]) => `(name = ${text(k)}, text = ${text(v)})`);
  for (const [binding, { limit, period }] of Object.entries(ratelimits)) {
    bindings.push(`(name = ${text(binding)}, wrapped = (moduleName = ${text(RATELIMIT_MODULE)}, innerBindings = [`
      + `(name = "limit", json = ${text(JSON.stringify(limit))}), (name = "period", json = ${text(JSON.stringify(period))})]))`);
  }
  const extensions = Object.keys(ratelimits).length === 0 ? '' : `
  extensions = [(modules = [(name = ${text(RATELIMIT_MODULE)}, internal = true, esModule = embed "../ratelimit-binding.mjs")])],`;
  let kvWorker = '';
  let services = '';
  if (kvStore) {
    bindings.push('(name = "ROUTES", kvNamespace = "kv")');
    services += `(name = "kv", external = (address = "127.0.0.1:${kvStore}", http = ())),`;
  } else if (kvData) {
    services += '(name = "kv", worker = .kv),';
    const dataFile = `${name}.kv.json`;
    await writeFile(path.join(OUT, dataFile), JSON.stringify(kvData));
    bindings.push('(name = "ROUTES", kvNamespace = "kv")');
    kvWorker = `
const kv :Workerd.Worker = (
  modules = [(name = "kv.mjs", esModule = embed "../kv-service.mjs")],
  compatibilityDate = "${COMPAT_DATE}",
  bindings = [(name = "DATA", json = embed ${text(dataFile)})],
);`;
  }
  if (d1Store) {
    bindings.push('(name = "DB", wrapped = (moduleName = "cloudflare-internal:d1-api", innerBindings = [(name = "fetcher", service = "d1")]))');
    services += `(name = "d1", external = (address = "127.0.0.1:${d1Store}", http = ())),`;
  }
  let objects = '';
  let limiterWorker = '';
  if (limiter === 'gateway') {
    bindings.push('(name = "RATE_LIMITER", durableObjectNamespace = "RateLimiter")');
    objects = `
  durableObjectNamespaces = [(className = "RateLimiter", uniqueKey = "rate-limiter")],
  durableObjectStorage = (inMemory = void),`;
  } else if (limiter) {
    bindings.push('(name = "RATE_LIMITER", durableObjectNamespace = (className = "RateLimiter", serviceName = "limiter"))');
    services += '(name = "limiter", worker = .limiter),';
    limiterWorker = `
const limiter :Workerd.Worker = (
  modules = [(name = "limiter.mjs", esModule = embed ${text(limiter)})],
  compatibilityDate = "${COMPAT_DATE}",
  durableObjectNamespaces = [(className = "RateLimiter", uniqueKey = "faulty-limiter")],
  durableObjectStorage = (inMemory = void),
  globalOutbound = "internet",
);`;
  }
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .main),
    ${services}
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],${extensions}
);
const main :Workerd.Worker = (
  modules = [${modules.map(([n, kind, file]) => `(name = ${text(n)}, ${kind} = embed ${text(file)})`).join(', ')}],
  compatibilityDate = "${COMPAT_DATE}",
  bindings = [${bindings.join(', ')}],
  globalOutbound = "internet",${objects}
);${kvWorker}${limiterWorker}
`;
  const file = path.join(OUT, `${name}.capnp`);
  await writeFile(file, config);
  return file;
}

/** Starts `workerd serve CONFIG`; resolves once `url` answers `status` (requested with
 *  `headers`). With `logs`, the worker's console output (stdout too) is kept for `logs()`. */
export async function serve(configFile, url, { timeoutMs = 30_000, headers = {}, status = 200, logs = false } = {}) {
  const started = process.hrtime.bigint();
  const child = spawn(WORKERD, ['serve', configFile], { stdio: ['ignore', logs ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout?.on('data', (d) => { stdout += d; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status === status) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${url} not ${status} within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const firstOkMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    child,
    firstOkMs,
    stderr: () => stderr,
    logs: () => stdout + stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
