// `npm run soak`: this gateway in raw workerd (as the benchmark runs it) under sustained load
// while its route table changes, with KV served by kv-store.mjs so new versions can be
// published mid-run. Phase 1: after `--warmup` seconds (default 60) of the same load,
// `--minutes` (default 5) of wrk at saturation with a new table
// version published every 10 s; every request must succeed and workerd's resident memory must
// grow less than 10 MiB from the first minute to the last. Phase 2: 20 swaps of a
// 10,000-route table under the same load; workerd's memory, settled, must come back within
// 10 MiB of where it started. Prints a summary, writes bench/results/soak.json and exits 1
// when a check fails. Not part of `npm test`.
import { mkdir, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, startBackend, stopAll } from '../scripts/lib/stack.mjs';
import { MODULES, OUT, serve, writeConfig } from './workerd.mjs';
import { startKvStore } from './kv-store.mjs';
import { arg, compileRoutes, median, routesToml, rssKb, wrk } from './harness.mjs';

const MINUTES = Number(arg('minutes', 5));
/** Saturation before phase 1's clock starts: V8 grows its heap to its working size in the
 *  first ~35 s under this load (then RSS is flat), which is start-up, not growth. */
const WARMUP_S = Number(arg('warmup', 60));
const CONNECTIONS = Number(arg('connections', 16));
const SWAP_EVERY_MS = 10_000;
const SMALL_ROUTES = 10;
const BIG_ROUTES = 10_000;
const BIG_SWAPS = Number(arg('swaps', 20));
const LIMIT_MIB = 10;
/** The gateway re-reads the active pointer this often (its `ROUTES_REFRESH_MS`). */
const REFRESH_MS = 500;
/** How long a published version may take to be served before the swap counts as failed. */
const SWAP_TIMEOUT_MS = 30_000;
/** The watcher's request interval, and so the resolution of the swap times. */
const POLL_MS = 20;
const PATH = '/api/users/1';
const VERSION_HEADER = 'x-gateway-route-version';
const log = (...a) => console.error('[soak]', ...a);
const mib = (kib) => +(kib / 1024).toFixed(1);

/** Two tables of `n` routes that differ by one route, compiled once (a 10,000-route table
 *  takes gatewayctl's debug build tens of seconds). */
async function tablePair(n, originPort) {
  const extra = '[[routes]]\nid = "soak-swap"\nmethods = ["GET"]\npath = "/soak/{id}"\nupstream = "users"\n\n';
  const sources = [routesToml(n, originPort), routesToml(n - 1, originPort) + extra];
  return Promise.all(sources.map(async (toml, i) => {
    const file = path.join(OUT, `soak-${n}-${'ab'[i]}.toml`);
    await writeFile(file, toml);
    const doc = await compileRoutes(file);
    return { ...doc, checksum: JSON.parse(doc.text).checksum };
  }));
}

/** `doc` under a new version, as publishing an unchanged table again (`gatewayctl publish
 *  --force`) makes one: the publish time and the content checksum. */
function republished(doc) {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const version = `${stamp}-${doc.checksum.slice(0, 8)}`;
  const text = doc.text.replace(`"version":"${doc.version}"`, `"version":"${version}"`);
  if (text === doc.text) throw new Error(`version ${doc.version} not found in its document`);
  return { version, text };
}

/** Starts the gateway bundle in workerd with ROUTES bound to `kv`. */
async function startGateway(name, kv) {
  const port = await freePort();
  const vars = { GATEWAY_ENV: 'local', ROUTES_REFRESH_MS: String(REFRESH_MS), HEALTH_REFRESH_MS: '3600000' };
  const config = await writeConfig(name, { port, modules: MODULES.gateway, vars, kvStore: kv.port });
  const url = `http://127.0.0.1:${port}${PATH}`;
  return { proc: await serve(config, url), url };
}

/** Samples the resident memory of `pid` every second; `at_s` counts from `t0`. */
function sampleRss(pid, t0) {
  const s = { samples: [], running: true };
  s.done = (async () => {
    for (let next = performance.now(); s.running; next += 1000) {
      s.samples.push({ at_s: +((performance.now() - t0) / 1000).toFixed(1), kib: await rssKb(pid) });
      await sleep(Math.max(0, next + 1000 - performance.now()));
    }
  })();
  s.stop = async () => { s.running = false; await s.done; };
  /** Median RSS (KiB) of the samples taken from `from_s` to `to_s`. */
  s.median = (fromS, toS) => median(s.samples.filter((x) => x.at_s >= fromS && x.at_s <= toS).map((x) => x.kib));
  return s;
}

/** Requests `url` every POLL_MS and notes which route version each response carries: when
 *  each version was first served, answers other than 200, and responses that carried a
 *  version older than one already served (a swap going backwards). */
function watch(url) {
  const w = { requests: 0, failures: [], firstSeen: new Map(), order: new Map(), newest: -1, backwards: 0, running: true };
  w.done = (async () => {
    while (w.running) {
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        w.requests++;
        if (res.status !== 200) w.failures.push(`${res.status} at ${new Date().toISOString()}`);
        const version = res.headers.get(VERSION_HEADER);
        if (!w.firstSeen.has(version)) w.firstSeen.set(version, performance.now());
        const index = w.order.get(version) ?? -1;
        if (index < w.newest) w.backwards++;
        w.newest = Math.max(w.newest, index);
      } catch (e) {
        w.failures.push(`${e.cause?.code ?? e.message} at ${new Date().toISOString()}`);
      }
      await sleep(POLL_MS);
    }
  })();
  w.stop = async () => { w.running = false; await w.done; };
  return w;
}

/** Publishes `doc` under a new version and waits until the watcher sees it served: the
 *  version and the time from publishing to the first response carrying it (null when it was
 *  not served within SWAP_TIMEOUT_MS). */
async function swap(kv, watcher, doc) {
  const { version, text } = republished(doc);
  watcher.order.set(version, watcher.order.size);
  const at = performance.now();
  kv.publish(text);
  while (!watcher.firstSeen.has(version) && performance.now() - at < SWAP_TIMEOUT_MS) await sleep(5);
  const seen = watcher.firstSeen.get(version);
  return { version, served_ms: seen === undefined ? null : Math.round(seen - at) };
}

/** Back-to-back wrk runs of at most `windowS` seconds against `url` while `leftS()` (the
 *  seconds left) is at least 1; each run's figures with its start time (s from `t0`). */
async function loadWindows(url, windowS, t0, leftS) {
  const runs = [];
  while (leftS() >= 1) {
    const at = performance.now();
    const r = await wrk(url, { duration: `${Math.min(windowS, Math.round(leftS()))}s`, connections: CONNECTIONS });
    runs.push({ at_s: +((at - t0) / 1000).toFixed(1), seconds: +((performance.now() - at) / 1000).toFixed(2), ...r });
  }
  return runs;
}

/** Totals of wrk runs and the watcher's requests: request counts, throughput, failures. */
function totals(runs, watcher) {
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  return {
    requests: requests + watcher.requests,
    wrk_requests: requests,
    watcher_requests: watcher.requests,
    rps: Math.round(requests / seconds),
    rps_windows: runs.map((r) => Math.round(r.rps)),
    p50_ms_median: median(runs.map((r) => r.p50)),
    p99_ms_median: median(runs.map((r) => r.p99)),
    p99_ms_max: Math.max(...runs.map((r) => r.p99 ?? 0)),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    socket_errors: runs.reduce((s, r) => s + r.errors, 0),
    watcher_failures: watcher.failures,
    versions_going_backwards: watcher.backwards,
  };
}

const swapSummary = (swaps) => {
  const times = swaps.map((s) => s.served_ms).filter((x) => x !== null);
  return {
    count: swaps.length,
    not_served: swaps.filter((s) => s.served_ms === null).length,
    served_ms_median: median(times),
    served_ms_max: times.length ? Math.max(...times) : null,
    served_ms: swaps.map((s) => s.served_ms),
    rss_mib: swaps.map((s) => s.rss_mib),
  };
};

/** Phase 1: MINUTES of saturation with a swap of a small table every 10 s (at 5 s, 15 s, …). */
async function saturation(kv, pair) {
  kv.publish(republished(pair[0]).text);
  const gw = await startGateway('soak', kv);
  try {
    await wrk(gw.url, { duration: `${WARMUP_S}s`, connections: CONNECTIONS });
    const totalMs = MINUTES * 60_000;
    const t0 = performance.now();
    const rss = sampleRss(gw.proc.child.pid, t0);
    const watcher = watch(gw.url);
    const elapsed = () => performance.now() - t0;
    const load = loadWindows(gw.url, SWAP_EVERY_MS / 1000, t0, () => (totalMs - elapsed()) / 1000);
    const swaps = [];
    for (let k = 0; SWAP_EVERY_MS / 2 + k * SWAP_EVERY_MS < totalMs; k++) {
      await sleep(Math.max(0, SWAP_EVERY_MS / 2 + k * SWAP_EVERY_MS - elapsed()));
      const s = await swap(kv, watcher, pair[(k + 1) % 2]);
      swaps.push({ at_s: +(elapsed() / 1000).toFixed(1), ...s, rss_mib: mib(rss.samples.at(-1).kib) });
      log(`swap ${k + 1} to ${s.version}: served after ${s.served_ms ?? 'never'} ms; rss ${swaps.at(-1).rss_mib} MiB`);
    }
    const runs = await load;
    await watcher.stop();
    await rss.stop();
    const endS = elapsed() / 1000;
    const first = rss.median(0, 60);
    const last = rss.median(endS - 60, endS);
    const memory = {
      first_minute_median_mib: mib(first),
      last_minute_median_mib: mib(last),
      growth_mib: mib(last - first),
      per_minute_median_mib: Array.from({ length: Math.max(1, Math.round(endS / 60)) }, (_, m) => mib(rss.median(m * 60, (m + 1) * 60))),
      samples_kib: rss.samples.map((x) => x.kib),
    };
    return { warmup_s: WARMUP_S, minutes: MINUTES, seconds: +endS.toFixed(1), routes: SMALL_ROUTES, ...totals(runs, watcher), swaps: swapSummary(swaps), memory, windows: runs };
  } finally {
    await gw.proc.stop();
  }
}

/** Phase 2: BIG_SWAPS swaps of a 10,000-route table under saturation; memory settled (the
 *  median of the samples 5 to 10 s after the load stopped) before (after the same warm-up
 *  as phase 1) and after. */
async function bigSwaps(kv, pair) {
  kv.publish(republished(pair[0]).text);
  const gw = await startGateway('soak-10k', kv);
  try {
    const t0 = performance.now();
    const rss = sampleRss(gw.proc.child.pid, t0);
    const seconds = () => (performance.now() - t0) / 1000;
    const settled = async () => {
      await sleep(10_000);
      return rss.median(seconds() - 5, seconds());
    };
    await wrk(gw.url, { duration: `${WARMUP_S}s`, connections: CONNECTIONS });
    const start = await settled();
    log(`10,000 routes loaded and warm: rss ${mib(start)} MiB`);
    const watcher = watch(gw.url);
    let done = false;
    const load = loadWindows(gw.url, 5, t0, () => (done ? 0 : Infinity));
    const swaps = [];
    for (let k = 0; k < BIG_SWAPS; k++) {
      const s = await swap(kv, watcher, pair[(k + 1) % 2]);
      await sleep(1000);
      swaps.push({ ...s, rss_mib: mib(rss.samples.at(-1).kib) });
      log(`10k swap ${k + 1} to ${s.version}: served after ${s.served_ms ?? 'never'} ms; rss 1 s later ${swaps.at(-1).rss_mib} MiB`);
    }
    done = true;
    const runs = await load;
    await watcher.stop();
    const end = await settled();
    await rss.stop();
    const memory = {
      start_mib: mib(start),
      peak_mib: mib(Math.max(...rss.samples.map((x) => x.kib))),
      end_mib: mib(end),
      growth_mib: mib(end - start),
      samples_kib: rss.samples.map((x) => x.kib),
    };
    return { routes: BIG_ROUTES, document_bytes: pair.map((d) => d.text.length), ...totals(runs, watcher), swaps: swapSummary(swaps), memory };
  } finally {
    await gw.proc.stop();
  }
}

function checks(p1, p2) {
  const clean = (p) => p.non2xx === 0 && p.socket_errors === 0 && p.watcher_failures.length === 0;
  const swapped = (p) => p.swaps.not_served === 0 && p.versions_going_backwards === 0;
  return {
    'saturation: zero failed requests': clean(p1),
    'saturation: every swap served, none reverted': swapped(p1),
    [`saturation: rss growth first→last minute < ${LIMIT_MIB} MiB`]: p1.memory.growth_mib < LIMIT_MIB,
    '10k swaps: zero failed requests': clean(p2),
    '10k swaps: every swap served, none reverted': swapped(p2),
    [`10k swaps: settled rss within ${LIMIT_MIB} MiB of the start`]: Math.abs(p2.memory.growth_mib) < LIMIT_MIB,
  };
}

function print(r) {
  const { saturation: s, swaps_10k: b } = r;
  const rows = [
    ['phase', 'requests', 'req/s', 'p99 ms (median)', 'non-2xx', 'errors', 'swaps', 'served ms (median / max)', 'rss MiB', 'growth MiB'],
    [`${s.minutes} min, ${s.routes} routes`, s.requests, s.rps, s.p99_ms_median, s.non2xx, s.socket_errors + s.watcher_failures.length,
      s.swaps.count, `${s.swaps.served_ms_median} / ${s.swaps.served_ms_max}`,
      `${s.memory.first_minute_median_mib} → ${s.memory.last_minute_median_mib}`, s.memory.growth_mib],
    [`${b.swaps.count} swaps, ${b.routes} routes`, b.requests, b.rps, b.p99_ms_median, b.non2xx, b.socket_errors + b.watcher_failures.length,
      b.swaps.count, `${b.swaps.served_ms_median} / ${b.swaps.served_ms_max}`,
      `${b.memory.start_mib} → ${b.memory.end_mib} (peak ${b.memory.peak_mib})`, b.memory.growth_mib],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) console.log(row.map((cell, i) => String(cell).padStart(widths[i])).join('  '));
  console.log(`per-minute rss medians (MiB): ${s.memory.per_minute_median_mib.join(' · ')}`);
  for (const f of [...s.watcher_failures, ...b.watcher_failures]) console.log(`watcher failure: ${f}`);
  for (const [name, ok] of Object.entries(r.checks)) console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
}

async function main() {
  await mkdir(OUT, { recursive: true });
  const origin = await startBackend('users', await freePort(), { release: true });
  const kv = await startKvStore();
  try {
    log(`compiling two ${SMALL_ROUTES}-route and two ${BIG_ROUTES}-route tables`);
    const small = await tablePair(SMALL_ROUTES, origin.port);
    const big = await tablePair(BIG_ROUTES, origin.port);
    log(`phase 1: ${MINUTES} min of wrk -t1 -c${CONNECTIONS} on GET ${PATH}, a new version every ${SWAP_EVERY_MS / 1000} s`);
    const p1 = await saturation(kv, small);
    log(`phase 2: ${BIG_SWAPS} swaps of a ${BIG_ROUTES}-route table`);
    const p2 = await bigSwaps(kv, big);
    const report = {
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      load: { tool: 'wrk', threads: 1, connections: CONNECTIONS, route: `GET ${PATH}`, routes_refresh_ms: REFRESH_MS, watcher_poll_ms: POLL_MS },
      saturation: p1,
      swaps_10k: p2,
      checks: checks(p1, p2),
    };
    const dir = path.join(ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'soak.json'), JSON.stringify(report, null, 2) + '\n');
    print(report);
    log('wrote bench/results/soak.json');
    if (!Object.values(report.checks).every(Boolean)) process.exitCode = 1;
  } finally {
    await kv.close();
    await stopAll();
  }
}

main().catch(async (e) => {
  console.error(e);
  await stopAll();
  process.exit(1);
});
