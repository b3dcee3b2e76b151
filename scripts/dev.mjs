// `npm run dev`: the sample backends, local D1 migrations, routes.toml published to local KV,
// and `wrangler dev` on :8787. Ctrl-C stops everything it started.
import {
  ROOT, applyMigrations, portInUse, publishLocal, run, startBackend, startGateway, stopAll,
} from './lib/stack.mjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const PORT = Number(process.env.GATEWAY_PORT ?? 8787);
const ROUTES = process.env.ROUTES_FILE ?? 'routes.toml';
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

  const busy = [];
  for (const port of [PORT, ...backends.map((b) => b.port)]) if (await portInUse(port)) busy.push(port);
  if (busy.length) {
    throw new Error(`port(s) ${busy.join(', ')} already in use — is another \`npm run dev\` running? Stop it first.`);
  }

  // Everything independent starts at once; the gateway serves 503 until the table is published.
  const gateway = startGateway({ port: PORT, echo: true, testScheduled: true });
  await Promise.all([
    ...backends.map((b) => startBackend(b.name, b.port, { echo: true }).then(() => step(`${b.name} on :${b.port}`))),
    applyMigrations(undefined).then(() => step('D1 migrations applied (local)'))
      .then(() => publishLocal(ROUTES, undefined))
      .then(({ version, log }) => { console.log(log.trimEnd()); step(`${ROUTES} published to local KV as ${version}`); }),
  ]);
  await gateway;
  step(`gateway on http://localhost:${PORT}`);
  console.log('\nLive routes:');
  for (const r of doc.routes) {
    const methods = r.methods?.length ? r.methods.join(',') : '*';
    console.log(`  ${methods.padEnd(10)} http://localhost:${PORT}${r.path}  →  ${r.upstream}  (${r.id})`);
  }
  console.log(`\nTry: curl http://localhost:${PORT}/api/users/1`);
  console.log(`Admin API (token from .dev.vars): curl -H 'Authorization: Bearer ${token}' http://localhost:${PORT}/__gateway/health`);
  console.log(`Run the health probes now: curl 'http://localhost:${PORT}/__scheduled?cron=*+*+*+*+*'`);
  console.log('Ctrl-C stops everything.\n');
}

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
