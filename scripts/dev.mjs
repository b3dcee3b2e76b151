// `npm run dev`: the sample backends, local D1 migrations, routes.toml published to local KV,
// and `wrangler dev` on :8787 with a development build of the worker; then the loop: the
// worker, routes.toml, each backend and new migrations reload on save (scripts/lib/reload.mjs).
// Ctrl-C stops everything it started.
import {
  ROOT, applyMigrations, portInUse, publishLocal, run, startBackend, startGateway, stopAll,
} from './lib/stack.mjs';
import {
  followWorker, state, watchBackends, watchMigrations, watchRoutes,
} from './lib/reload.mjs';
import { startLocalStore } from './lib/local-store.mjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const PORT = Number(process.env.GATEWAY_PORT ?? 8787);
const ROUTES = process.env.ROUTES_FILE ?? 'routes.toml';
const IDP_PORT = 9103; // routes.toml's local jwks_url and team_domain point here
const started = Date.now();
const step = (msg) => console.log(`[dev] ${msg} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

/** The admin token from .dev.vars, created (never committed: .gitignore) if missing. */
function adminToken() {
  const file = path.join(ROOT, '.dev.vars');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const found = text.match(/^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?/m);
  if (found) return found[1];
  const token = randomBytes(24).toString('hex');
  writeFileSync(file, `${text}${text && !text.endsWith('\n') ? '\n' : ''}ADMIN_TOKEN="${token}"\n`);
  return token;
}

async function main() {
  const token = adminToken();
  // Which backends to start, and where: the local origins of routes.toml's upstreams.
  const { stdout } = await run(path.join(ROOT, 'target/debug/gatewayctl'), ['compile', ROUTES, '--env', 'local']);
  const doc = JSON.parse(stdout);
  const backends = Object.entries(doc.upstreams)
    .filter(([name]) => existsSync(path.join(ROOT, 'target/debug', name)))
    .map(([name, u]) => ({ name, port: Number(new URL(u.origins[0]).port) }));
  // The sample identity provider that the jwt and access policies trust locally.
  backends.push({ name: 'idp', port: IDP_PORT });

  const busy = [];
  for (const port of [PORT, ...backends.map((b) => b.port)]) if (await portInUse(port)) busy.push(port);
  if (busy.length) {
    throw new Error(`port(s) ${busy.join(', ')} already in use — is another \`npm run dev\` running? Stop it first.`);
  }

  // Everything independent starts at once; the gateway serves 503 until the table is published.
  state('stack', 'starting');
  const gateway = startGateway({ port: PORT, echo: true, testScheduled: true, profile: 'dev' });
  // Publishes on save go through one long-lived local store: ~0.5 s instead of ~8 s.
  const store = startLocalStore(ROOT);
  await Promise.all([
    ...backends.map((b) => startBackend(b.name, b.port, { echo: true }).then((proc) => {
      b.proc = proc;
      step(`${b.name} on :${b.port}`);
    })),
    applyMigrations(undefined).then(() => step('D1 migrations applied (local)'))
      .then(() => publishLocal(ROUTES, undefined))
      .then(({ version, log }) => { console.log(log.trimEnd()); step(`${ROUTES} published to local KV as ${version}`); }),
  ]);
  followWorker(await gateway);
  step(`gateway on http://localhost:${PORT}`);
  watchRoutes(ROUTES, await store);
  watchBackends(backends);
  watchMigrations();
  console.log('\nLive routes:');
  for (const r of doc.routes) {
    const methods = r.methods?.length ? r.methods.join(',') : '*';
    console.log(`  ${methods.padEnd(10)} http://localhost:${PORT}${r.path}  →  ${r.upstream}${migration(r)}  (${r.id})`);
  }
  console.log(`\nTry: curl http://localhost:${PORT}/api/orders/1          # 401: the route needs an API key`);
  console.log(tryPolicies(doc, PORT));
  console.log(`Console: http://localhost:${PORT}/__gateway/  — sign in with the admin token ${token} (from .dev.vars)`);
  console.log(`Admin API (token from .dev.vars): curl -H 'Authorization: Bearer ${token}' http://localhost:${PORT}/__gateway/health`);
  console.log(`Run the health probes now: curl 'http://localhost:${PORT}/__scheduled?cron=*+*+*+*+*'`);
  console.log(`Saving a file reloads it: src/ (the worker), ${ROUTES} (published to local KV), backends/<name>/ (that backend), migrations/ (applied).`);
  console.log('Ctrl-C stops everything.\n');
  state('stack', 'running');
}

/** How to try the policies of the table just published, one command per line. */
function tryPolicies(doc, port) {
  const gw = `http://localhost:${port}`;
  const uses = (type) => doc.routes.filter((r) => (r.policies ?? []).some((p) => doc.policies?.[p]?.[type]));
  const lines = ['Policies (docs/route-table-format.md#policies):'];
  const keyed = uses('api_key')[0];
  if (keyed) {
    lines.push('  API key:   KEY=$(cargo run -q -p gatewayctl -- keys create --local --consumer alice)');
    lines.push(`             curl -i -H "x-api-key: $KEY" ${gw}${fill(keyed.path)}`);
  }
  const jwt = uses('jwt')[0];
  if (jwt) {
    lines.push(`  JWT:       TOKEN=$(curl -s -X POST localhost:${IDP_PORT}/token -d '{"sub":"alice"}' | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`);
    lines.push(`             curl -i -H "authorization: Bearer $TOKEN" ${gw}${fill(jwt.path)}`);
  }
  const access = uses('access')[0];
  if (access) {
    lines.push(`  Access:    curl -i -H "cf-access-jwt-assertion: $TOKEN" ${gw}${fill(access.path)}   # without it: 401`);
  }
  const limited = uses('rate_limit')[0];
  if (limited) {
    lines.push(`  429:       for i in $(seq 1 120); do curl -s -o /dev/null -w '%{http_code} ' -H "x-api-key: $KEY" ${gw}${fill(limited.path)}; done`);
  }
  lines.push(`  Preflight: curl -i -X OPTIONS -H 'origin: http://localhost:5173' -H 'access-control-request-method: GET' ${gw}/api/users/1`);
  return lines.join('\n');
}

/** What a route of a migration adds to its line in the live routes: the share each split
 *  side gets and the sticky key, and the conditions a request must meet (docs/route-table-format.md). */
function migration(r) {
  let text = '';
  if (r.split) {
    const sides = Object.entries(r.split.to ?? {}).map(([upstream, percent]) => `${upstream} ${percent}%`);
    text += ` (rest) + ${sides.join(' + ')}, sticky ${r.split.sticky ?? 'ip'}`;
    if (r.split.override_header) text += `, pick one with ${r.split.override_header}: NAME`;
  }
  const conditions = Object.entries(r.when ?? {}).flatMap(([kind, tests]) => Object.entries(tests ?? {}).map(([name, test]) => {
    if (typeof test === 'string') return `${kind} ${name} = ${JSON.stringify(test)}`;
    if (typeof test?.prefix === 'string') return `${kind} ${name} starts with ${JSON.stringify(test.prefix)}`;
    return test?.present ? `${kind} ${name} present` : `${kind} ${name} ${JSON.stringify(test)}`;
  }));
  if (conditions.length) text += `  when ${conditions.join(' and ')}`;
  return text;
}

/** A concrete path for a pattern: `{x}` → `1`, `{*x}` → `a/b`. */
const fill = (pattern) => pattern.replace(/\{\*[^}]+\}/g, 'a/b').replace(/\{[^}]+\}/g, '1');

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
main().catch((e) => { console.error(`[dev] ${e.message}`); shutdown(1); });
