// Service-binding upstreams end to end: wrangler dev runs the gateway and a second worker
// (fixtures/service-worker) together, and the gateway reaches it through `[[services]]`
// bindings — with the same header policy as a URL upstream (the `users` backend, beside it),
// rewrites, the route timeout (504), a throwing worker (502, or 500 under wrangler dev's error
// middleware), health probes into D1 and the access log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ROOT, applyMigrations, freePort, gatewayConfig, publishLocal, startBackend, startGateway, stopAll, wrangler,
} from '../../scripts/lib/stack.mjs';
import { eventually, loggedEvent, raw, tempDir } from './support.mjs';

const WORKER = path.join(ROOT, 'tests/e2e/fixtures/service-worker/wrangler.toml');
// The gateway's bindings to the second worker: its default export, and its named entrypoint
// `Direct`, which wrangler dev does not wrap in its error middleware.
const SERVICES = `
[[services]]
binding = "SERVICE"
service = "gateway-e2e-service"

[[services]]
binding = "SERVICE_DIRECT"
service = "gateway-e2e-service"
entrypoint = "Direct"
`;
const TOKEN = 'e2e-bindings-admin-token';
let dir, users, gw;

const url = (p) => `${gw.url}${p}`;
const access = (requestId) => loggedEvent(gw, { event: 'request', request_id: requestId });
/** The second worker's request counts, by path (read through the gateway; not counted). */
const workerStats = async (method = 'GET') => (await fetch(url('/svc/_test/stats'), { method })).json();

before(async () => {
  dir = await tempDir('bindings');
  const port = await freePort();
  users = await startBackend('users', port);
  const text = await readFile(path.join(ROOT, 'tests/e2e/fixtures/routes.bindings.toml'), 'utf8');
  const table = path.join(dir, 'routes.toml');
  await writeFile(table, text.replaceAll('@USERS@', port));
  const config = await gatewayConfig(dir, SERVICES);
  // The gateway answers 503 until the table is in KV: publish while wrangler dev starts.
  [gw] = await Promise.all([
    startGateway({
      port: await freePort(), persistTo: dir, testScheduled: true, configs: [config, WORKER],
      vars: { ROUTES_REFRESH_MS: 500, ADMIN_TOKEN: TOKEN },
    }),
    applyMigrations(dir).then(() => publishLocal(table, dir, { config })),
  ]);
  await eventually(async () => (await fetch(url('/svc/healthz'))).status === 200, 5000);
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a binding upstream gets the request headers a URL upstream gets', async () => {
  const sent = {
    'X-Forwarded-For': '198.51.100.1', 'X-Request-Id': 'binding-headers-1', 'X-End-To-End': 'kept',
    'Proxy-Authorization': 'Basic c2VjcmV0', 'Proxy-Foo': '1', 'Keep-Alive': 'timeout=5',
    'X-Gateway-Route-Version': 'spoofed', 'Cf-Access-Client-Id': 'spoofed',
  };
  const [viaUrl, viaBinding] = await Promise.all(['/url/echo/h', '/svc/echo/h'].map(async (p) => {
    const res = await raw(url(p), { headers: sent });
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body);
  }));
  assert.equal(viaBinding.service, 'service-worker');
  assert.deepEqual([viaBinding.method, viaBinding.path], ['GET', '/echo/h']);
  const seen = viaBinding.headers;
  for (const [name, want] of [
    ['x-request-id', 'binding-headers-1'],
    ['x-forwarded-for', `198.51.100.1, ${seen['cf-connecting-ip']}`],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', `127.0.0.1:${gw.port}`],
    ['x-end-to-end', 'kept'],
    ['proxy-authorization', undefined],
    ['proxy-foo', undefined],
    ['keep-alive', undefined],
    ['x-gateway-route-version', undefined],
    ['cf-access-client-id', undefined],
  ]) assert.equal(seen[name], want, name);
  // Only the runtime's own headers differ: a request to the internet gets `host` and
  // `cf-worker` and loses `cf-connecting-ip`; through a binding, headers pass as the gateway
  // set them.
  const runtime = [
    ['host', `127.0.0.1:${users.port}`, undefined],
    ['cf-worker', 'edge-gateway.example.com', undefined],
    ['cf-connecting-ip', undefined, '127.0.0.1'],
  ];
  for (const [name, overHttp, throughBinding] of runtime) {
    assert.deepEqual([viaUrl.headers[name], seen[name]], [overHttp, throughBinding], name);
  }
  const others = (headers) => Object.fromEntries(Object.entries(headers).filter(([n]) => !runtime.some(([r]) => r === n)));
  assert.deepEqual(others(seen), others(viaUrl.headers));
});

test('hop-by-hop response headers are dropped for a binding as for a URL', async () => {
  for (const prefix of ['/url', '/svc']) {
    const id = `hop-${prefix.slice(1)}`;
    const res = await raw(url(`${prefix}/_test/hop`), { headers: { 'x-request-id': id } });
    assert.equal(res.status, 200, prefix);
    for (const name of ['keep-alive', 'proxy-authenticate', 'x-hop-secret']) assert.equal(res.headers[name], undefined, `${prefix} ${name}`);
    assert.equal(res.headers['x-end-to-end'], 'kept', prefix);
    assert.equal(res.headers['x-request-id'], id, prefix);
    assert.ok(res.headers['x-gateway-route-version'], prefix);
  }
});

test('rewrites, methods, queries and bodies reach the bound worker', async () => {
  for (const [method, p, body, want] of [
    ['GET', '/svc/echo/a/b?x=1&y', undefined, { path: '/echo/a/b', query: 'x=1&y', body_bytes: 0 }],
    ['GET', '/t/7/a/b?x=1', undefined, { path: '/echo/a/b', query: 'id=7&x=1', body_bytes: 0 }],
    ['POST', '/svc/echo/upload', 'hello, worker', { path: '/echo/upload', query: null, body_bytes: 13 }],
    ['DELETE', '/direct/echo/thing', undefined, { path: '/echo/thing', query: null, body_bytes: 0 }],
  ]) {
    const res = await fetch(url(p), { method, body });
    assert.equal(res.status, 200, p);
    const echo = await res.json();
    assert.deepEqual({ method: echo.method, path: echo.path, query: echo.query, body_bytes: echo.body_bytes }, { method, ...want }, p);
  }
});

test('the route timeout gives 504 problem+json within about the timeout, once', async () => {
  await workerStats('DELETE');
  const started = Date.now();
  const res = await fetch(url('/slow'));
  const elapsed = Date.now() - started;
  assert.equal(res.status, 504);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const body = await res.json();
  assert.deepEqual([body.title, body.route_id], ['Gateway Timeout', 'svc-slow']);
  assert.ok(elapsed >= 400 && elapsed < 1500, `answered in ${elapsed} ms (timeout 400 ms, worker 3000 ms)`);
  const line = await access(body.request_id);
  assert.deepEqual([line.status, line.upstream, line.origin, line.error], [504, 'svc', 'SERVICE', 'no response headers within 400 ms']);
  assert.deepEqual((await workerStats()).paths, { '/slow': 1 });
});

// Deployed (workerd), a bound worker's exception rejects the caller's fetch: the gateway
// answers 502. wrangler dev wraps a worker's default export in middleware that turns the
// exception into a 500 response (marked for its error page), which the gateway relays.
test('a bound worker that throws: 502 when the fetch rejects; a 500 response is relayed', async () => {
  await workerStats('DELETE');
  const direct = await fetch(url('/direct/throw'), { headers: { 'x-request-id': 'throw-direct' } });
  assert.equal(direct.status, 502);
  assert.equal(direct.headers.get('content-type'), 'application/problem+json');
  assert.equal(direct.headers.get('x-request-id'), 'throw-direct');
  const problem = await direct.json();
  assert.deepEqual([problem.title, problem.route_id], ['Bad Gateway', 'direct']);
  const rejected = await access('throw-direct');
  assert.deepEqual([rejected.status, rejected.origin, rejected.error], [502, 'SERVICE_DIRECT', 'service worker failed on purpose']);

  const wrapped = await fetch(url('/svc/throw'), { headers: { 'x-request-id': 'throw-wrapped' } });
  await wrapped.arrayBuffer();
  assert.equal(wrapped.status, 500);
  const relayed = await access('throw-wrapped');
  assert.deepEqual([relayed.status, relayed.origin, relayed.error], [500, 'SERVICE', undefined]);
  assert.deepEqual((await workerStats()).paths, { '/throw': 2 }, 'each request reached the worker once');
});

test('a probe round writes a healthy snapshot for each binding to D1, as the admin API reports', async () => {
  const since = gw.output().length;
  const res = await fetch(url('/__scheduled?cron=*+*+*+*+*'));
  assert.equal(res.status, 200, await res.text());
  const want = [['direct', 'SERVICE_DIRECT'], ['svc', 'SERVICE'], ['url', users.url]];
  const probed = await loggedEvent(gw, { event: 'health_probed' }, { since });
  assert.deepEqual(
    probed.origins.map((o) => [o.upstream, o.origin, o.status]).sort(),
    want.map(([upstream, origin]) => [upstream, origin, 'healthy']),
  );
  const { stdout } = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--json', '--command',
    'SELECT upstream, origin, status, http_status, detail FROM health_snapshots ORDER BY upstream']);
  assert.deepEqual(
    JSON.parse(stdout)[0].results,
    want.map(([upstream, origin]) => ({ upstream, origin, status: 'healthy', http_status: 200, detail: 'ok' })),
  );
  const report = await (await fetch(url('/__gateway/health'), { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  assert.deepEqual(
    report.origins.map((o) => [o.upstream, o.origin, o.status, o.fresh]).sort(),
    want.map(([upstream, origin]) => [upstream, origin, 'healthy', true]),
  );
  assert.ok((await workerStats()).paths['/healthz'] >= 2, 'the worker saw both bindings\' probes');
});
