// `npm run bench`: this gateway against the origin, a minimal JS pass-through worker and a
// Hono gateway, each in raw workerd against the same origin; plus route-table scale, cold
// start, bundle size and streaming memory. Prints a table and writes JSON and an SVG chart
// to bench/results/. `--smoke` runs every step briefly (used by npm test; no timing checks).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, run, startBackend, stopAll } from '../scripts/lib/stack.mjs';
import { MODULES, OUT, serve, writeConfig } from './workerd.mjs';
import { patternStream, hashBody } from '../tests/e2e/support.mjs';
import { chart } from './chart.mjs';

const exec = promisify(execFile);
const SMOKE = process.argv.includes('--smoke');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DURATION = arg('duration', SMOKE ? '1s' : '10s');
const ROUNDS = Number(arg('rounds', SMOKE ? 1 : 5));
const CONNECTIONS = Number(arg('connections', 16));
const STREAM_BYTES = SMOKE ? 8 << 20 : 256 << 20;
const SCALES = [10, 1000, 10000];
const log = (...a) => console.error('[bench]', ...a);

/** A route table of `n` routes: the measured `/api/users/{id}` among n-1 others. */
function routesToml(n, originPort) {
  let t = `[upstreams.users]\ntimeout_ms = 5000\n[upstreams.users.env.local]\norigins = ["http://127.0.0.1:${originPort}"]\n\n`;
  t += '[[routes]]\nid = "users-get"\nmethods = ["GET"]\npath = "/api/users/{id}"\nupstream = "users"\nrewrite = { strip_prefix = "/api" }\n\n';
  // The streaming routes answer only after the whole body: give them time for 256 MiB.
  t += '[[routes]]\nid = "echo"\npath = "/echo/{*rest}"\nupstream = "users"\ntimeout_ms = 60000\n\n';
  t += '[[routes]]\nid = "download"\nmethods = ["GET"]\npath = "/_test/download"\nupstream = "users"\ntimeout_ms = 60000\n\n';
  for (let i = 3; i < n; i++) {
    t += `[[routes]]\nid = "svc${i}"\nmethods = ["GET", "POST"]\npath = "/svc${i}/items/{id}"\nupstream = "users"\nrewrite = { template = "/items/{id}" }\n\n`;
  }
  return t;
}

async function kvFor(n, originPort) {
  const file = path.join(OUT, `routes-${n}.toml`);
  await writeFile(file, routesToml(n, originPort));
  const { stdout } = await run(path.join(ROOT, 'target/debug/gatewayctl'), ['compile', file, '--env', 'local']);
  const doc = JSON.parse(stdout);
  return { 'routes/active': doc.version, [`routes/versions/${doc.version}`]: stdout.trim() };
}

const unit = { us: 1e-3, ms: 1, s: 1000, m: 60000 };
const ms = (v) => { const m = /^([\d.]+)(us|ms|s|m)$/.exec(v ?? ''); return m ? Number(m[1]) * unit[m[2]] : null; };

/** One wrk run: req/s, p50, p99 (ms), non-2xx, socket errors. */
async function wrk(url, duration = DURATION) {
  const { stdout } = await exec('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${duration}`, '--latency', url], { maxBuffer: 1 << 20 });
  const grab = (re) => (re.exec(stdout) || [])[1];
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    rps: Number(grab(/Requests\/sec:\s+([\d.]+)/)),
    p50: ms(grab(/50%\s+(\S+)/)),
    p99: ms(grab(/99%\s+(\S+)/)),
    non2xx: Number(grab(/Non-2xx or 3xx responses: (\d+)/) || 0),
    errors: errors ? errors.slice(1).reduce((s, x) => s + Number(x), 0) : 0,
  };
}

const median = (values) => {
  const s = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarize(runs) {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    rounds: runs.map((r) => Math.round(r.rps)),
  };
}

/** Alternates contenders over rounds (to cancel drift) and reports the median of each. */
async function measure(contenders) {
  const runs = Object.fromEntries(contenders.map((c) => [c.key, []]));
  for (const c of contenders) await wrk(c.url, '2s'); // warm up JIT, connections, caches
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of round % 2 ? contenders : [...contenders].reverse()) {
      const r = await wrk(c.url);
      runs[c.key].push(r);
      log(`round ${round} ${c.key}: ${Math.round(r.rps)} req/s, p99 ${r.p99?.toFixed(2)} ms`);
    }
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, summarize(v)]));
}

async function rssKb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

/** Streams `bytes` up and down through a gateway while sampling workerd's RSS. */
async function streaming(gw, bytes) {
  const pid = gw.proc.child.pid;
  const before = await rssKb(pid);
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) { peak = Math.max(peak, await rssKb(pid)); await new Promise((r) => setTimeout(r, 20)); }
  })();
  const started = Date.now();
  const { stream, digest } = patternStream(bytes);
  const up = await (await fetch(`${gw.base}/echo/upload`, { method: 'POST', body: stream, duplex: 'half' })).json();
  const upMs = Date.now() - started;
  const down = await fetch(`${gw.base}/_test/download?bytes=${bytes}`);
  const got = await hashBody(down);
  const downMs = Date.now() - started - upMs;
  sampling = false;
  await sampler;
  const expected = await digest;
  const after = await rssKb(pid);
  return {
    bytes,
    upload_ok: up.body_sha256 === expected && up.body_bytes === bytes,
    download_ok: got.sha256 === expected && got.bytes === bytes,
    upload_mib_s: +(bytes / 1048576 / (upMs / 1000)).toFixed(1),
    download_mib_s: +(bytes / 1048576 / (downMs / 1000)).toFixed(1),
    rss_before_mib: +(before / 1024).toFixed(1),
    rss_peak_mib: +(peak / 1024).toFixed(1),
    rss_after_mib: +(after / 1024).toFixed(1),
    growth_mib: +((peak - before) / 1024).toFixed(1),
  };
}

async function sizes(honoFile) {
  const wasm = await readFile(path.join(ROOT, 'build/index_bg.wasm'));
  const js = await readFile(path.join(ROOT, 'build/index.js'));
  const hono = await readFile(honoFile);
  return {
    wasm_raw: wasm.length, wasm_gzip: gzipSync(wasm, { level: 9 }).length,
    glue_js_raw: js.length, glue_js_gzip: gzipSync(js, { level: 9 }).length,
    hono_bundle_raw: hono.length, hono_bundle_gzip: gzipSync(hono, { level: 9 }).length,
  };
}

/** Table build time: criterion natively, and the same work in WASM (V8, as in workerd). */
async function tableBuild() {
  if (SMOKE) return { skipped: 'smoke run' };
  const native = await run('cargo', ['bench', '-q', '-p', 'gateway', '--bench', 'table', '--', '--noplot'], { env: { CARGO_TERM_COLOR: 'never' } });
  const out = native.stdout + native.stderr;
  const result = { native_us: {} };
  const perUs = { ns: 1e-3, 'µs': 1, us: 1, ms: 1000, s: 1e6 };
  for (const m of out.matchAll(/build\/(\d+) routes\s+time:\s+\[\S+ \S+ (\S+) (\S+)/g)) {
    result.native_us[m[1]] = +(Number(m[2]) * perUs[m[3]]).toFixed(1);
  }
  for (const m of out.matchAll(/lookup\/(\d+) routes\s+time:\s+\[\S+ \S+ (\S+) (\S+)/g)) {
    (result.native_lookup_ns ??= {})[m[1]] = +(Number(m[2]) * perUs[m[3]] * 1000).toFixed(1);
  }
  const wasm = await run('cargo', ['test', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'gateway', '--test', 'wasm_table_build', '--', '--nocapture'], {
    env: { CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: 'wasm-bindgen-test-runner' },
  });
  result.wasm_us = {};
  for (const m of (wasm.stdout + wasm.stderr).matchAll(/table_build routes=(\d+) us=([\d.]+)/g)) result.wasm_us[m[1]] = Number(m[2]);
  return result;
}

async function main() {
  await mkdir(OUT, { recursive: true });
  const originPort = await freePort();
  const origin = await startBackend('users', originPort, { release: true });
  const honoFile = path.join(OUT, 'hono.mjs');
  await run(path.join(ROOT, 'node_modules/.bin/esbuild'), [path.join(ROOT, 'bench/peers/hono-gateway.mjs'), '--bundle', '--format=esm', '--minify', `--outfile=${honoFile}`]);
  const kv = {};
  for (const n of SCALES) kv[n] = await kvFor(n, originPort);
  const vars = { GATEWAY_ENV: 'local', ROUTES_REFRESH_MS: '5000', HEALTH_REFRESH_MS: '3600000' };

  const started = [];
  async function contender(key, kind, opts, probePath) {
    const port = await freePort();
    const config = await writeConfig(key, { port, modules: MODULES[kind], ...opts });
    const proc = await serve(config, `http://127.0.0.1:${port}${probePath}`);
    started.push(proc);
    return { key, proc, base: `http://127.0.0.1:${port}`, firstOkMs: proc.firstOkMs };
  }
  const gwPath = '/api/users/1';
  const a = { key: 'a_origin', base: origin.url, url: `${origin.url}/users/1` };
  const b = await contender('b_js_passthrough', 'passthrough', { vars: { ORIGIN: origin.url } }, '/users/1');
  const c = await contender('c_hono_gateway', 'hono', { kvData: kv[10] }, gwPath);
  const d = await contender('d_this_gateway', 'gateway', { kvData: kv[10], vars }, gwPath);
  b.url = `${b.base}/users/1`;
  c.url = `${c.base}${gwPath}`;
  d.url = `${d.base}${gwPath}`;

  log(`throughput: wrk -t1 -c${CONNECTIONS} -d${DURATION}, ${ROUNDS} rounds`);
  const throughput = await measure([a, b, c, d]);

  log('route table scale');
  const d1k = await contender('d_1000_routes', 'gateway', { kvData: kv[1000], vars }, gwPath);
  const d10k = await contender('d_10000_routes', 'gateway', { kvData: kv[10000], vars }, gwPath);
  d1k.url = `${d1k.base}${gwPath}`;
  d10k.url = `${d10k.base}${gwPath}`;
  const scale = await measure([{ ...d, key: '10' }, { ...d1k, key: '1000' }, { ...d10k, key: '10000' }]);
  await d1k.proc.stop();
  await d10k.proc.stop();

  log('cold start: workerd start → first 200');
  const cold = {};
  for (const [key, kind, opts, p] of [
    ['b_js_passthrough', 'passthrough', { vars: { ORIGIN: origin.url } }, '/users/1'],
    ['c_hono_gateway', 'hono', { kvData: kv[10] }, gwPath],
    ['d_this_gateway', 'gateway', { kvData: kv[10], vars }, gwPath],
    ['d_this_gateway_10000_routes', 'gateway', { kvData: kv[10000], vars }, gwPath],
  ]) {
    const times = [];
    for (let i = 0; i < (SMOKE ? 1 : 5); i++) {
      const x = await contender(`cold-${key}`, kind, opts, p);
      times.push(x.firstOkMs);
      await x.proc.stop();
    }
    cold[key] = +median(times).toFixed(1);
  }

  log(`streaming ${STREAM_BYTES >> 20} MiB through (d)`);
  const stream = await streaming(d, STREAM_BYTES);
  const build = await tableBuild();
  const size = await sizes(honoFile);

  const ratio = (x, y) => +(x / y).toFixed(3);
  const report = {
    when: new Date().toISOString(),
    smoke: SMOKE,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    load: { tool: 'wrk', threads: 1, connections: CONNECTIONS, duration: DURATION, rounds: ROUNDS },
    throughput: Object.fromEntries(Object.entries(throughput).map(([k, v]) => [k, {
      ...v, vs_b: ratio(v.rps, throughput.b_js_passthrough.rps), vs_a: ratio(v.rps, throughput.a_origin.rps),
    }])),
    scale: Object.fromEntries(Object.entries(scale).map(([k, v]) => [k, { ...v, vs_10: ratio(v.rps, scale['10'].rps) }])),
    cold_start_ms: cold,
    table_build: build,
    sizes: size,
    streaming: stream,
  };
  const t = report.throughput;
  report.targets = {
    'd >= 1.0x b req/s': t.d_this_gateway.vs_b >= 1.0,
    "d p99 <= b p99": t.d_this_gateway.p99 <= t.b_js_passthrough.p99,
    'd >= 1.2x c req/s': ratio(t.d_this_gateway.rps, t.c_hono_gateway.rps) >= 1.2,
    '10k routes >= 0.95x 10 routes': report.scale['10000'].vs_10 >= 0.95,
    'wasm <= 150 KB gzip': size.wasm_gzip <= 150 * 1024,
    '256 MiB stream grows RSS < 16 MiB': stream.growth_mib < 16 && stream.upload_ok && stream.download_ok,
  };
  print(report);
  const dir = path.join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const name = SMOKE ? 'smoke' : 'latest';
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(report, null, 2) + '\n');
  await writeFile(path.join(dir, `${name}.svg`), chart(report));
  log(`wrote bench/results/${name}.json and ${name}.svg`);
  for (const p of started) await p.stop();
  await stopAll();
}

function print(r) {
  const rows = [['contender', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'vs (b)', 'vs (a)']];
  for (const [k, v] of Object.entries(r.throughput)) {
    rows.push([k, Math.round(v.rps), v.p50?.toFixed(2), v.p99?.toFixed(2), v.non2xx, v.errors, v.vs_b.toFixed(2), v.vs_a.toFixed(2)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) console.log(row.map((cell, i) => String(cell).padStart(widths[i])).join('  '));
  console.log('\nroute table scale (d):', Object.entries(r.scale).map(([k, v]) => `${k} routes ${Math.round(v.rps)} req/s (${v.vs_10.toFixed(2)}x)`).join(', '));
  console.log('cold start ms:', JSON.stringify(r.cold_start_ms));
  console.log('table build:', JSON.stringify(r.table_build));
  console.log('sizes:', JSON.stringify(r.sizes));
  console.log('streaming:', JSON.stringify(r.streaming));
  console.log('targets:', JSON.stringify(r.targets, null, 1));
}

main().catch(async (e) => {
  console.error(e);
  await stopAll();
  process.exit(1);
});
