// The benchmark's gradual migration rows: what a split route, a canary pointer, a shadow
// version and the traffic statistics flush cost this gateway per request. Five contenders of
// the same release bundle, in raw workerd against the same origin, each with its own D1
// (bench/d1-store.mjs) and all sending the same sticky header:
//   r0 plain: the 10-route table of row (d), `GET /api/users/1` — the baseline;
//   r1 split: the same table with `split = { to = { users-b = 10 }, sticky = "header:x-user-id" }`
//      on `/api/users/{id}`, `users-b` another upstream with the same origin;
//   r2 canary: r0's table as stable and, in `routes/release`, a candidate at 10% sticky on the
//      same header whose table is the same one compiled again (same checksum, new version);
//   r3 shadow: r0's table serving and, in `routes/release`, a shadow version that differs by
//      one route elsewhere (`/svc9/things/{id}` instead of `/svc9/items/{id}`);
//   r4 flush: r0 with STATS_FLUSH_MS = 1000 (every second, the least the gateway takes), where
//      r0–r3 have a day (never during the run): compared by p99 with r0.
// Before measuring, each is checked to do what it claims (see the check functions).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OUT } from './workerd.mjs';
import { startD1Store } from './d1-store.mjs';
import { compileRoutes, routesToml } from './harness.mjs';

/** The header every rollout row sends (the sticky key of the split and of the canary). */
export const STICKY = { header: 'x-user-id', value: 'bench-user' };
export const ROLLOUT_HEADERS = { [STICKY.header]: STICKY.value };
const SIDE = 'users-b';
const PERCENT = 10;
const FLUSH_NEVER_MS = '86400000';
const FLUSH_OFTEN_MS = '1000';
/** Distinct sticky keys the checks send. */
const KEYS = Array.from({ length: 200 }, (_, i) => `user-${i}`);
const CHANGED_ROUTE = { from: 'path = "/svc9/items/{id}"', to: 'path = "/svc9/things/{id}"', probe: '/svc9/items/1' };

/** `toml` with `from` replaced once by `to` (and a check that it was there). */
function edit(toml, from, to) {
  if (!toml.includes(from)) throw new Error(`rollout: the bench table has no \`${from}\``);
  return toml.replace(from, to);
}

/** The 10-route table of row (d) with the split on `/api/users/{id}`; `users-b` at `sideUrl`. */
function splitToml(originPort, sideUrl) {
  const side = `[upstreams.${SIDE}]\ntimeout_ms = 5000\n[upstreams.${SIDE}.env.local]\norigins = ["${sideUrl}"]\n\n`;
  const rewrite = 'rewrite = { strip_prefix = "/api" }\n';
  const split = `split = { to = { ${SIDE} = ${PERCENT} }, sticky = "header:${STICKY.header}" }\n`;
  return side + edit(routesToml(10, originPort), rewrite, rewrite + split);
}

async function compile(name, toml) {
  const file = path.join(OUT, `rollout-${name}.toml`);
  await writeFile(file, toml);
  return compileRoutes(file);
}

const versionKv = (doc) => ({ [`routes/versions/${doc.version}`]: doc.text });

/** KV contents of every row and check instance. `plain` is row (d)'s KV (one version). */
async function tables(originPort, plain, secondOriginUrl) {
  const stable = plain['routes/active'];
  const split = await compile('split', splitToml(originPort, `http://127.0.0.1:${originPort}`));
  const splitCheck = await compile('split-check', splitToml(originPort, secondOriginUrl));
  // The canary's candidate: the same table published again — a new version, the same content.
  const candidate = await compile('canary', routesToml(10, originPort));
  const stableDoc = JSON.parse(plain[`routes/versions/${stable}`]);
  if (candidate.version === stable || JSON.parse(candidate.text).checksum !== stableDoc.checksum) {
    throw new Error(`rollout: the candidate ${candidate.version} should be ${stable}'s table under a new version`);
  }
  const shadow = await compile('shadow', edit(routesToml(10, originPort), CHANGED_ROUTE.from, CHANGED_ROUTE.to));
  const now = Date.now();
  const release = (extra) => JSON.stringify({ format: 1, stable, ...extra });
  const canary = {
    version: candidate.version, percent: PERCENT, sticky: `header:${STICKY.header}`, steps: [], interval_ms: 0,
    step_started_ms: now, started_ms: now,
    judge: { min_requests: 100, max_error_rate_increase: 1.0, max_p95_ratio: 1.5, min_p95_increase_ms: 50 },
  };
  const only = (doc) => ({ 'routes/active': doc.version, ...versionKv(doc) });
  return {
    versions: { stable, candidate: candidate.version, shadow: shadow.version },
    plain,
    split: only(split),
    splitCheck: only(splitCheck),
    canary: { ...plain, ...versionKv(candidate), 'routes/release': release({ candidate: canary }) },
    shadow: { ...plain, ...versionKv(shadow), 'routes/release': release({ shadow: shadow.version }) },
  };
}

const get = async (url, headers = {}) => {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res;
};
const keyed = (key) => ({ [STICKY.header]: key });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `ready()` holds, polling for up to `ms`; false if it never did. */
async function until(ready, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (ready()) return true;
    await sleep(20);
  }
  return ready();
}

/** `GET /_test/stats` of a users backend: requests to `/users/1` since the last reset. */
async function originCount(url) {
  const res = await fetch(`${url}/_test/stats`);
  return (await res.json()).paths?.['/users/1'] ?? 0;
}

/** r1: a copy whose `users-b` is a second users backend answers every key, the side gets
 *  some of them (about 10%) and the primary the rest, and the same keys again land where they
 *  did (sticky): each origin's count exactly doubles. Returns the side's share and where the
 *  load generator's own key goes. */
async function checkSplit(gw, gwPath, origins) {
  const counts = async () => Promise.all(origins.map((o) => originCount(o.url)));
  await Promise.all(origins.map((o) => fetch(`${o.url}/_test/stats`, { method: 'DELETE' })));
  const send = async () => {
    for (const key of KEYS) {
      const res = await get(`${gw.base}${gwPath}`, keyed(key));
      if (res.status !== 200) throw new Error(`r1 split check: ${key} answered ${res.status}`);
    }
  };
  await send();
  const once = await counts();
  await send();
  const twice = await counts();
  const [primary, side] = once;
  const problems = [];
  if (primary + side !== KEYS.length) problems.push(`the origins saw ${primary + side} of ${KEYS.length} requests`);
  if (side === 0 || primary === 0) problems.push(`one side got nothing (primary ${primary}, ${SIDE} ${side})`);
  if (side > KEYS.length * 0.25) problems.push(`${SIDE} got ${side} of ${KEYS.length} keys for a ${PERCENT}% share`);
  if (twice[0] !== 2 * primary || twice[1] !== 2 * side) problems.push(`not sticky: ${once} then ${twice}`);
  const before = await counts();
  await get(`${gw.base}${gwPath}`, ROLLOUT_HEADERS);
  const after = await counts();
  if (problems.length > 0) throw new Error(`r1 split not applied: ${problems.join('; ')}`);
  return { keys: KEYS.length, primary, [SIDE]: side, wrk_key_side: after[1] > before[1] ? SIDE : 'users' };
}

/** r2: over the keys, both versions serve (X-Gateway-Route-Version), the candidate about 10%,
 *  each key on the same version twice. Returns the shares and the load generator key's side. */
async function checkCanary(gw, gwPath, versions) {
  const seen = {};
  for (const key of KEYS) {
    const first = (await get(`${gw.base}${gwPath}`, keyed(key))).headers.get('x-gateway-route-version');
    const again = (await get(`${gw.base}${gwPath}`, keyed(key))).headers.get('x-gateway-route-version');
    if (first !== again) throw new Error(`r2 canary not sticky: ${key} got ${first} then ${again}`);
    seen[first] = (seen[first] ?? 0) + 1;
  }
  const stable = seen[versions.stable] ?? 0;
  const candidate = seen[versions.candidate] ?? 0;
  if (stable + candidate !== KEYS.length || stable === 0 || candidate === 0 || candidate > KEYS.length * 0.25) {
    throw new Error(`r2 canary: versions served ${JSON.stringify(seen)} (stable ${versions.stable}, candidate ${versions.candidate} at ${PERCENT}%)`);
  }
  const wrk = (await get(`${gw.base}${gwPath}`, ROLLOUT_HEADERS)).headers.get('x-gateway-route-version');
  return { keys: KEYS.length, stable, candidate, wrk_key_side: wrk === versions.candidate ? 'candidate' : 'stable' };
}

/** r3: every key is served by the stable version. Then a copy that flushes every second
 *  (`check`) proves the shadow is evaluated: the request the shadow routes differently is
 *  counted in `shadow_diffs`, and the measured route is not. */
async function checkShadow(gw, check, store, gwPath, versions) {
  for (const key of KEYS) {
    const version = (await get(`${gw.base}${gwPath}`, keyed(key))).headers.get('x-gateway-route-version');
    if (version !== versions.stable) throw new Error(`r3 shadow: ${key} served by ${version}, not ${versions.stable}`);
  }
  store.reset();
  for (let i = 0; i < 10; i++) {
    await get(`${check.base}${gwPath}`, ROLLOUT_HEADERS);
    await get(`${check.base}${CHANGED_ROUTE.probe}`, ROLLOUT_HEADERS);
  }
  await sleep(Number(FLUSH_OFTEN_MS) + 100);
  await get(`${check.base}${gwPath}`, ROLLOUT_HEADERS); // the flush is due: scheduled now
  const diffs = () => Object.entries(store.diffs);
  await until(() => diffs().length > 0);
  const prefix = `${versions.stable} ${versions.shadow} GET `;
  const changed = diffs().filter(([k]) => k.startsWith(prefix) && k.includes('svc9'));
  const measured = diffs().filter(([k]) => k.includes('users-get'));
  if (changed.length === 0 || measured.length > 0) {
    throw new Error(`r3 shadow not evaluated as expected: shadow_diffs ${JSON.stringify(store.diffs)}`);
  }
  return { keys: KEYS.length, served_by_stable: KEYS.length, shadow_diffs: Object.fromEntries(diffs()) };
}

/** r4: the row flushes (a batch reaches its D1 within a second and a bit of a request). */
async function checkFlush(gw, store, gwPath) {
  store.reset();
  await get(`${gw.base}${gwPath}`, ROLLOUT_HEADERS);
  await sleep(Number(FLUSH_OFTEN_MS) + 100);
  await get(`${gw.base}${gwPath}`, ROLLOUT_HEADERS);
  if (!(await until(() => Object.keys(store.traffic).length > 0))) {
    throw new Error(`r4 flush: nothing reached D1 (statements ${JSON.stringify(store.statements)})`);
  }
  return { traffic_rows: store.traffic };
}

/** Starts and checks the rollout rows. `contender(key, kind, opts, probePath, headers)`
 *  starts a gateway as run.mjs does; `startOrigin()` another users backend (for r1's check).
 *  Returns the rows to measure, their D1 stores, the versions and what the checks saw. */
export async function setupRollout({ originPort, plainKv, vars, gwPath, contender, startOrigin }) {
  const origin = { url: `http://127.0.0.1:${originPort}` };
  const second = await startOrigin();
  const kv = await tables(originPort, plainKv, second.url);
  const { versions } = kv;
  const stores = {};
  const row = async (key, kvData, flushMs) => {
    stores[key] = await startD1Store();
    const opts = { kvData, vars: { ...vars, STATS_FLUSH_MS: flushMs }, d1Store: stores[key].port };
    const gw = await contender(key, 'gateway', opts, gwPath, ROLLOUT_HEADERS);
    gw.url = `${gw.base}${gwPath}`;
    return gw;
  };
  const rows = [
    await row('r0_plain', kv.plain, FLUSH_NEVER_MS),
    await row('r1_split', kv.split, FLUSH_NEVER_MS),
    await row('r2_canary', kv.canary, FLUSH_NEVER_MS),
    await row('r3_shadow', kv.shadow, FLUSH_NEVER_MS),
    await row('r4_stats_flush_1s', kv.plain, FLUSH_OFTEN_MS),
  ];
  const [, r1, r2, r3, r4] = rows;
  const checks = {};
  const splitCheck = await contender('r1-split-check', 'gateway', { kvData: kv.splitCheck, vars: { ...vars, STATS_FLUSH_MS: FLUSH_NEVER_MS } }, gwPath, ROLLOUT_HEADERS);
  try {
    checks.r1_split = await checkSplit(splitCheck, gwPath, [origin, second]);
  } finally {
    await splitCheck.proc.stop();
    await second.stop();
  }
  // The measured r1 itself: 200 for every key (its two upstreams share the origin).
  for (const key of KEYS.slice(0, 20)) {
    const res = await get(r1.url, keyed(key));
    if (res.status !== 200) throw new Error(`r1 split: ${key} answered ${res.status}`);
  }
  checks.r2_canary = await checkCanary(r2, gwPath, versions);
  const shadowStore = await startD1Store();
  const shadowCheck = await contender('r3-shadow-check', 'gateway', { kvData: kv.shadow, vars: { ...vars, STATS_FLUSH_MS: FLUSH_OFTEN_MS }, d1Store: shadowStore.port }, gwPath, ROLLOUT_HEADERS);
  try {
    checks.r3_shadow = await checkShadow(r3, shadowCheck, shadowStore, gwPath, versions);
  } finally {
    await shadowCheck.proc.stop();
    await shadowStore.close();
  }
  checks.r4_stats_flush = await checkFlush(r4, stores.r4_stats_flush_1s, gwPath);
  return { rows, stores, versions, checks };
}

const ratio = (x, y) => (x > 0 && y > 0 ? +(x / y).toFixed(3) : null);
const perRound = (xs, bases) => xs.map((x, i) => ratio(x, bases[i]));

/** Measures the rows (alternating, as every section) and builds the report's `rollout`. */
export async function measureRollout(setup, measure, duration) {
  for (const store of Object.values(setup.stores)) store.reset();
  const results = await measure(setup.rows, duration);
  const flushes = Object.fromEntries(Object.entries(setup.stores).map(([k, s]) => [k, s.batches]));
  for (const store of Object.values(setup.stores)) await store.close();
  for (const row of setup.rows) await row.proc.stop();
  const base = results.r0_plain;
  const vs = (key) => ({ [`${key.split('_')[0]}_vs_r0`]: ratio(results[key].rps, base.rps), rounds: perRound(results[key].rounds, base.rounds) });
  const flush = results.r4_stats_flush_1s;
  return {
    route: `GET /api/users/1, every request with ${STICKY.header}: ${STICKY.value}`,
    duration,
    versions: setup.versions,
    method: {
      r0: 'the 10-route table of (d); a D1 binding (bench/d1-store.mjs); STATS_FLUSH_MS 86400000 (no flush during the run)',
      r1: `r0's table with split = { to = { ${SIDE} = ${PERCENT} }, sticky = "header:${STICKY.header}" } on /api/users/{id}; ${SIDE} has the same origin`,
      r2: `r0's table stable; routes/release with a candidate at ${PERCENT}% sticky on header:${STICKY.header}, the same table under another version`,
      r3: `r0's table serving; routes/release with a shadow version that differs by one route (${CHANGED_ROUTE.to})`,
      r4: `r0 with STATS_FLUSH_MS ${FLUSH_OFTEN_MS}: a flush to D1 every second; compared with r0 by p99`,
      d1_flushes: 'batches each row\'s D1 received during the section, warm-up included',
    },
    checks: setup.checks,
    rows: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ...v, vs_r0: ratio(v.rps, base.rps), d1_flushes: flushes[k] }])),
    split: vs('r1_split'),
    canary: vs('r2_canary'),
    shadow: vs('r3_shadow'),
    stats_flush: {
      p99_ms_flush_every_1s: flush.p99,
      p99_ms_no_flush: base.p99,
      p99_ratio: ratio(flush.p99, base.p99),
      p99_rounds_flush_every_1s: flush.p99_rounds,
      p99_rounds_no_flush: base.p99_rounds,
      p50_ms_flush_every_1s: flush.p50,
      p50_ms_no_flush: base.p50,
      rps_ratio: ratio(flush.rps, base.rps),
      d1_flushes_during_run: flushes.r4_stats_flush_1s,
      d1_flushes_without: flushes.r0_plain,
    },
  };
}

/** Targets of the issue: a split route and a canary pointer ≤ 3% of plain throughput, shadow
 *  evaluation ≤ 5%; stats flushing does not show in p99 (here: within 10%, the round-to-round
 *  spread of p99 on this machine). */
export function rolloutTargets(r) {
  return {
    'r1 split route >= 0.97x r0 req/s': r.split.r1_vs_r0 >= 0.97,
    'r2 canary pointer >= 0.97x r0 req/s': r.canary.r2_vs_r0 >= 0.97,
    'r3 shadow evaluation >= 0.95x r0 req/s': r.shadow.r3_vs_r0 >= 0.95,
    'r4 stats flush every 1 s: p99 <= 1.10x p99 without': r.stats_flush.p99_ratio !== null && r.stats_flush.p99_ratio <= 1.1,
  };
}

export function printRollout(r) {
  const rows = [['rollout row', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'vs r0', 'D1 flushes']];
  for (const [k, v] of Object.entries(r.rows)) {
    rows.push([k, Math.round(v.rps), v.p50?.toFixed(2) ?? '-', v.p99?.toFixed(2) ?? '-', v.non2xx, v.errors, v.vs_r0?.toFixed(2) ?? '-', v.d1_flushes]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) console.log(row.map((cell, i) => String(cell).padStart(widths[i])).join('  '));
  const f = r.stats_flush;
  console.log(`rollout on ${r.route}: split ${r.split.r1_vs_r0}x of r0 (rounds ${r.split.rounds.join(', ')}),`
    + ` canary pointer ${r.canary.r2_vs_r0}x (rounds ${r.canary.rounds.join(', ')}),`
    + ` shadow ${r.shadow.r3_vs_r0}x (rounds ${r.shadow.rounds.join(', ')}); targets >= 0.97, 0.97, 0.95`);
  console.log(`stats flush: p99 ${f.p99_ms_flush_every_1s} ms flushing every second (${f.d1_flushes_during_run} flushes)`
    + ` vs ${f.p99_ms_no_flush} ms without (${f.d1_flushes_without}); ratio ${f.p99_ratio}`
    + ` (rounds ${f.p99_rounds_flush_every_1s.join(', ')} vs ${f.p99_rounds_no_flush.join(', ')})`);
  const c = r.checks;
  console.log(`rollout checks: split ${c.r1_split.primary}/${c.r1_split[SIDE]} of ${c.r1_split.keys} keys (users/${SIDE}, sticky),`
    + ` canary ${c.r2_canary.stable}/${c.r2_canary.candidate} (stable/candidate, sticky), shadow: all stable, diffs`
    + ` ${JSON.stringify(c.r3_shadow.shadow_diffs)}; wrk's key: split ${c.r1_split.wrk_key_side}, canary ${c.r2_canary.wrk_key_side}`);
}
