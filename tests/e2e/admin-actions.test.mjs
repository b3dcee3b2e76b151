// The admin API's release endpoints end to end, in wrangler dev (local KV and D1) in front of the
// users backend: GET /__gateway/release, /diff and /health/history follow the OpenAPI contract;
// POST /__gateway/rollback, /promote and /abort write the pointers and record the activations
// in D1 as gatewayctl does (author `console`), the gateway serves the result, and every refusal —
// a repeat, a version that is not there, a bad body — is a problem+json that changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import {
  ROOT, applyMigrations, freePort, publishLocal, run, startBackend, startGateway, stopAll,
} from '../../scripts/lib/stack.mjs';
import { eventually, tempDir } from './support.mjs';

const TOKEN = 'e2e-admin-actions-5b1e';
const REFRESH_MS = 500;
const auth = { authorization: `Bearer ${TOKEN}` };
let dir, gw, users, spec;
const v = {}; // v1, v2: plain versions; v3, v4: canary candidates

/** Version `n` of the table: an echo route, and from version 2 on a second route. */
function table(port, n) {
  const extra = n >= 2 ? `\n[[routes]]\nid = "status"\nmethods = ["GET"]\npath = "/status/{code}"\nupstream = "users"\nrewrite = { template = "/_test/status/{code}" }\n` : '';
  return `[upstreams.users]\ntimeout_ms = 5000\n[upstreams.users.env.local]\norigins = ["http://127.0.0.1:${port}"]\n\n`
    + `[[routes]]\nid = "echo"\nmethods = ["GET"]\npath = "/echo/{*rest}"\nupstream = "users"\nrewrite = { template = "/echo/v${n}/{rest}" }\n${extra}`;
}

async function publish(n, ...flags) {
  const file = path.join(dir, `v${n}.toml`);
  await writeFile(file, table(users.port, n));
  if (!flags.length) return (await publishLocal(file, dir)).version;
  const gatewayctl = path.join(ROOT, 'target/debug/gatewayctl');
  const { stdout } = await run(gatewayctl, ['publish', file, '--env', 'local', '--local', '--persist-to', dir, ...flags]);
  return stdout.trim();
}

const get = async (p, headers = auth) => fetch(`${gw.url}/__gateway/${p}`, { headers });
const post = (p, body, headers = auth) => fetch(`${gw.url}/__gateway/${p}`, {
  method: 'POST', headers: { ...headers, 'content-type': 'application/json' },
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
});
const release = async () => (await (await get('release')).json()).release;
const activations = async () => (await (await get('versions')).json()).activations;

/** The version that served a proxied request. */
async function served() {
  const res = await fetch(`${gw.url}/echo/which`);
  await res.arrayBuffer();
  return res.headers.get('x-gateway-route-version');
}

/** Validates a live response against the OpenAPI document's schema for it. */
function conforms(name, body) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi', components: spec.components });
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`);
  assert.ok(validate(body), `${name}: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body)}`);
}

/** A refusal: its status, a problem+json body per the contract, and its detail. */
async function refused(res, status, detail) {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const body = await res.json();
  conforms('Problem', body);
  if (detail instanceof RegExp) assert.match(body.detail, detail);
  else assert.equal(body.detail, detail);
}

/** Runs `step` and checks that the release and the history stayed as they were. */
async function changesNothing(step) {
  const before = [await release(), (await activations()).length];
  await step();
  assert.deepEqual([await release(), (await activations()).length], before);
}

before(async () => {
  dir = await tempDir('admin-actions');
  spec = JSON.parse(await readFile(path.join(ROOT, 'docs/admin-api.openapi.json'), 'utf8'));
  users = await startBackend('users', await freePort());
  await applyMigrations(dir);
  v.v1 = await publish(1);
  v.v2 = await publish(2);
  gw = await startGateway({
    port: await freePort(), persistTo: dir, testScheduled: true,
    profile: process.env.WORKER_PROFILE === 'dev' ? 'dev' : 'release',
    vars: { ADMIN_TOKEN: TOKEN, ROUTES_REFRESH_MS: REFRESH_MS },
  });
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the read endpoints follow the contract', async () => {
  const rel = await (await get('release')).json();
  conforms('ReleaseReport', rel);
  assert.deepEqual(rel.release, { stable: v.v2, candidate: null, shadow: null });

  const diff = await (await get(`diff?from=${v.v1}&to=${v.v2}`)).json();
  conforms('DiffReport', diff);
  assert.deepEqual(diff.changes.map((c) => c.line), [
    `~ route echo             rewrite.template: /echo/v1/{rest} → /echo/v2/{rest}`,
    '+ route status           GET /status/{code} → users',
  ]);
  assert.deepEqual(diff.moved.map((m) => [m.request.path, m.from, m.to]), [
    ['/echo/sample/path', 'echo (users, 5000 ms) /echo/v1/sample/path', 'echo (users, 5000 ms) /echo/v2/sample/path'],
    ['/status/1', '404', 'status (users, 5000 ms) /_test/status/1'],
  ]);
  assert.equal(diff.samples, 2);
  await refused(await get(`diff?from=nope&to=${v.v2}`), 404, 'Version nope has no document in KV (routes/versions/nope).');
  await refused(await get(`diff?from=${v.v1}`), 400, 'Name both versions: ?from=VERSION&to=VERSION.');

  const probe = await fetch(`${gw.url}/__scheduled?cron=*+*+*+*+*`);
  await probe.text();
  const history = await (await get('health/history?since=15m')).json();
  conforms('HealthTimeline', history);
  assert.deepEqual(history.origins.map((o) => [o.origin, o.in_table, o.snapshots.at(-1)?.status]), [
    [users.url, true, 'healthy'],
  ]);
  await refused(await get('health/history?since=8d'), 400, '`since` must be a duration up to 7d, such as 15m, 1h or 24h.');
});

test('the write endpoints need the token and POST', async () => {
  await changesNothing(async () => {
    const res = await post('rollback', { to: v.v1 }, {});
    await refused(res, 401, 'This endpoint needs a valid bearer token.');
    const wrong = await get('rollback');
    assert.equal(wrong.headers.get('allow'), 'POST');
    await refused(wrong, 405, /Allow header/);
    const read = await post('release', {});
    assert.equal(read.headers.get('allow'), 'GET, HEAD');
    await refused(read, 405, /Allow header/);
  });
});

test('refusals change nothing', async () => {
  await changesNothing(async () => {
    await refused(await post('rollback', { to: v.v2 }), 409, `${v.v2} is already active.`);
    await refused(await post('rollback', { to: 'nope' }), 404, 'Version nope was never published to local (see /__gateway/versions).');
    await refused(await post('rollback', { to: v.v1, from: 'other' }), 409, `The active version is ${v.v2}, not other: nothing was changed.`);
    await refused(await post('rollback', { version: v.v1 }), 400, /^The body is not one this endpoint takes: unknown field `version`/);
    await refused(await post('rollback', '{'), 400, /^The body is not one this endpoint takes/);
    await refused(await post('promote'), 409, `No canary runs: ${v.v2} serves every request.`);
    await refused(await post('abort', {}), 409, `No canary runs: ${v.v2} serves every request.`);
  });
});

test('a rollback is written, recorded as the CLI records it, and served; a repeat is a conflict', async () => {
  const res = await post('rollback', { to: v.v1, from: v.v2, note: 'e2e' });
  assert.equal(res.status, 200);
  const body = await res.json();
  conforms('ActionReport', body);
  assert.equal(body.active_version, v.v1);
  assert.deepEqual(body.release, { stable: v.v1, candidate: null, shadow: null });
  const want = { version: v.v1, previous: v.v2, action: 'rollback', author: 'console', reason: `rolled back to ${v.v1} by name — e2e` };
  assert.deepEqual(body.activations.map(({ activated_at: _, ...a }) => a), [want]);
  const [latest] = await activations();
  assert.deepEqual({ version: latest.version, previous: latest.previous, action: latest.action, author: latest.author, reason: latest.reason }, want);
  assert.deepEqual(await release(), { stable: v.v1, candidate: null, shadow: null });
  await eventually(async () => (await served()) === v.v1, REFRESH_MS * 10 + 3000);

  await changesNothing(async () => {
    await refused(await post('rollback', { to: v.v1, from: v.v2 }), 409, `${v.v1} is already active.`);
    // The default target is what the stable replaced (v2 again); `from` keeps a repeat harmless.
    await refused(await post('rollback', { from: v.v2 }), 409, `The active version is ${v.v1}, not ${v.v2}: nothing was changed.`);
  });
  // Without `to`: back to the version the rollback replaced, as `gatewayctl rollback` does.
  const back = await (await post('rollback', {})).json();
  assert.equal(back.active_version, v.v2);
  assert.equal(back.activations[0].reason, `rolled back to the version before ${v.v1}`);
});

test('a canary is aborted, then another is promoted, each once', async () => {
  v.v3 = await publish(3, '--canary', '50', '--sticky', 'header:x-user');
  const running = await (await get('release')).json();
  conforms('ReleaseReport', running);
  assert.equal(running.release.candidate.version, v.v3);
  assert.equal(running.release.candidate.percent, 50);
  assert.equal(running.release.candidate.sticky, 'header:x-user');

  await changesNothing(async () => {
    await refused(await post('abort', { candidate: v.v1 }), 409, `The canary's candidate is ${v.v3}, not ${v.v1}: nothing was changed.`);
  });
  const aborted = await post('abort', { candidate: v.v3 });
  assert.equal(aborted.status, 200);
  const abortBody = await aborted.json();
  conforms('ActionReport', abortBody);
  assert.deepEqual([abortBody.active_version, abortBody.release.candidate], [v.v2, null]);
  assert.deepEqual(abortBody.activations.map((a) => [a.action, a.version, a.previous, a.author, a.reason]), [
    ['abort', v.v2, v.v3, 'console', 'aborted by hand at 50%'],
  ]);
  await changesNothing(async () => {
    await refused(await post('abort'), 409, `No canary runs: ${v.v2} serves every request.`);
  });

  v.v4 = await publish(4, '--canary', '25');
  const promoted = await post('promote', { note: 'looks good' });
  assert.equal(promoted.status, 200);
  const promoteBody = await promoted.json();
  conforms('ActionReport', promoteBody);
  assert.equal(promoteBody.active_version, v.v4);
  assert.deepEqual(promoteBody.activations.map((a) => [a.action, a.version, a.previous, a.reason]), [
    ['promote', v.v4, v.v2, 'promoted by hand at 25% — looks good'],
  ]);
  assert.deepEqual(await release(), { stable: v.v4, candidate: null, shadow: null });
  assert.equal((await activations())[0].action, 'promote');
  await eventually(async () => (await served()) === v.v4, REFRESH_MS * 10 + 3000);
  await changesNothing(async () => {
    await refused(await post('promote'), 409, `No canary runs: ${v.v4} serves every request.`);
  });
});
