// End to end: the real worker in wrangler dev (workerd, local KV and D1) in front of the real
// sample backends, over real sockets. No mocks of KV, fetch or the backends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  applyMigrations, freePort, kvPut, publishLocal, startBackend, startGateway, stopAll,
} from '../../scripts/lib/stack.mjs';
import { eventually, hashBody, patternStream, raw, routeFile, stats, tempDir } from './support.mjs';

const REFRESH_MS = 500;
const ACCESS_ID = 'e2e-client.access';
const ACCESS_SECRET = 'e2e-secret-value-9f8e7d';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let dir, users, orders, gw, ports, table, version;

const url = (p) => `${gw.url}${p}`;
const servedBy = async (p = '/users/1') => (await fetch(url(p))).headers.get('x-gateway-route-version');

before(async () => {
  dir = await tempDir('core');
  ports = { users: await freePort(), orders: await freePort(), closed: await freePort() };
  table = await routeFile(dir, ports);
  [users, orders] = await Promise.all([startBackend('users', ports.users), startBackend('orders', ports.orders)]);
  await applyMigrations(dir);
  gw = await startGateway({
    port: await freePort(),
    persistTo: dir,
    vars: { ROUTES_REFRESH_MS: REFRESH_MS, E2E_ACCESS_ID: ACCESS_ID, E2E_ACCESS_SECRET: ACCESS_SECRET },
  });
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('with no route table in KV the gateway answers 503 problem+json with Retry-After', async () => {
  const res = await fetch(url('/users/1'));
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(res.headers.get('retry-after'), '5');
  const body = await res.json();
  assert.equal(body.title, 'Route Table Unavailable');
  assert.match(body.request_id, UUID);
});

test('a published table goes live and names its version on every response', async () => {
  ({ version } = await publishLocal(table, dir));
  const [res] = await eventually(async () => {
    const r = await fetch(url('/users/1'));
    return r.status === 200 ? r : null;
  }, 5000);
  assert.equal(res.headers.get('x-gateway-route-version'), version);
  assert.deepEqual(await res.json(), { id: 1, name: 'Ada Lovelace', email: 'ada@example.com' });
});

test('path parameters and catch-alls reach the origin unchanged', async () => {
  for (const [path, originPath] of [
    ['/echo/a/b/c.txt', '/echo/a/b/c.txt'],
    ['/echo/x%2Fy%20z', '/echo/x%2Fy%20z'],
    ['/echo/%E2%9C%93', '/echo/%E2%9C%93'],
  ]) {
    const echo = await (await fetch(url(path))).json();
    assert.equal(echo.path, originPath, path);
  }
  const missing = await fetch(url('/users/99'));
  assert.equal(missing.status, 404, 'an origin 404 passes through');
  assert.equal(missing.headers.get('content-type'), 'application/problem+json');
});

test('404 for unknown paths and 405 with Allow for known paths', async () => {
  const none = await fetch(url('/nowhere'));
  assert.equal(none.status, 404);
  const notFound = await none.json();
  assert.equal(notFound.title, 'Not Found');
  assert.equal(notFound.route_id, undefined);
  const wrong = await fetch(url('/users/1'), { method: 'DELETE' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
  assert.equal(wrong.headers.get('x-gateway-route-version'), version);
  const head = await fetch(url('/users/1'), { method: 'HEAD' });
  assert.equal(head.status, 200, 'HEAD is served by the GET route');
});

test('rewrites: strip a prefix, fill a template from params and catch-alls', async () => {
  for (const [path, want] of [
    ['/legacy/echo/a/b', '/echo/a/b'],
    ['/u/42/profile', '/echo/profile/42'],
    ['/files/docs/read%20me.md', '/echo/files/docs/read%20me.md'],
  ]) {
    const echo = await (await fetch(url(path))).json();
    assert.equal(echo.path, want, path);
  }
  const files = await (await fetch(url('/files/x'))).json();
  assert.equal(files.service, 'orders');
});

test('the query string reaches the origin byte for byte', async () => {
  // node:http sends the request target exactly as written (fetch would normalise `q?`).
  // (workerd itself percent-encodes `'` in queries before the worker sees the URL, per the
  // WHATWG URL standard, so that character is not in this list: docs/headers-and-urls.md.)
  for (const query of ['a=1&b=%2F&c=x%20y&&d=&e=%E2%9C%93&f=+&g', 'x=1;y=2&x=3', 'l=(1)&m=%27', '']) {
    const echo = JSON.parse((await raw(url(`/echo/q?${query}`))).body);
    assert.equal(echo.query, query, query);
  }
  const none = JSON.parse((await raw(url('/echo/q'))).body);
  assert.equal(none.query, null);
});

test('forwarding headers, request ids and traceparent', async () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const res = await fetch(url('/echo/fwd'), {
    headers: { 'x-forwarded-for': '198.51.100.1', 'x-request-id': 'client-id-1', traceparent },
  });
  const echo = await res.json();
  assert.equal(res.headers.get('x-request-id'), 'client-id-1');
  assert.equal(echo.headers['x-request-id'], 'client-id-1');
  assert.equal(echo.headers.traceparent, traceparent);
  assert.match(echo.headers['x-forwarded-for'], /^198\.51\.100\.1, \S+$/);
  assert.equal(echo.headers['x-forwarded-proto'], 'http');
  assert.equal(echo.headers['x-forwarded-host'], `127.0.0.1:${gw.port}`);

  const generated = await fetch(url('/echo/fwd'), { headers: { 'x-request-id': 'bad id with spaces' } });
  const id = generated.headers.get('x-request-id');
  assert.match(id, UUID);
  assert.equal((await generated.json()).headers['x-request-id'], id);
});

test('hop-by-hop headers are dropped in both directions', async () => {
  const sent = await raw(url('/echo/hop'), {
    headers: {
      'Proxy-Authorization': 'Basic c2VjcmV0', 'Proxy-Foo': '1', 'X-End-To-End': 'kept',
    },
  });
  const seen = JSON.parse(sent.body).headers;
  for (const name of ['proxy-authorization', 'proxy-foo']) assert.equal(seen[name], undefined, name);
  assert.equal(seen['x-end-to-end'], 'kept');

  const back = await raw(url('/_test/hop'));
  assert.equal(back.status, 200);
  for (const name of ['keep-alive', 'proxy-authenticate', 'x-hop-secret']) assert.equal(back.headers[name], undefined, name);
  assert.equal(back.headers['x-end-to-end'], 'kept');
});

test('encoded slashes and dot-segments inside a parameter are refused with 400 unless the route allows them', async () => {
  await fetch(`${users.url}/_test/stats`, { method: 'DELETE' });
  // (A whole-segment `%2E%2E` is a dot-segment to the URL parser: the runtime resolves it
  // before the worker runs, like `..`.)
  for (const path of ['/legacy/echo/a%2F..%2Fadmin', '/legacy/echo/a%5Cb', '/legacy/echo/..%2F..%2Fetc', '/u/%2E%2E%2Fadmin/profile']) {
    const res = await raw(url(path));
    assert.equal(res.status, 400, path);
    assert.equal(JSON.parse(res.body).title, 'Bad Request', path);
  }
  assert.equal((await stats(users)).total, 0, 'no refused request reached the origin');
  const allowed = JSON.parse((await raw(url('/echo/a%2Fb'))).body);
  assert.equal(allowed.path, '/echo/a%2Fb', 'a route with allow_encoded_separators passes them on as sent');
});

test('"every method" never includes TRACE or CONNECT', async () => {
  // (Node's client cannot send CONNECT as a plain request; the native lookup tests cover it.)
  for (const method of ['TRACE', 'PROPFIND']) {
    const res = await raw(url('/echo/x'), { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  }
});

test('a GET with a body gets 400 from the gateway, never a 502 that blames the origin', async () => {
  await fetch(`${users.url}/_test/stats`, { method: 'DELETE' });
  const res = await raw(url('/echo/body'), { method: 'GET', headers: { 'content-type': 'text/plain', 'content-length': '5' }, body: 'hello' });
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(res.body).title, 'Bad Request');
  assert.equal((await stats(users)).total, 0);
  const empty = await raw(url('/echo/body'), { method: 'GET', headers: { 'content-length': '0' } });
  assert.equal(empty.status, 200, 'an empty body is no body');
});

test('a client cannot send headers that grant access or speak for the gateway', async () => {
  const echo = JSON.parse((await raw(url('/echo/spoof'), {
    headers: { 'cf-access-client-id': 'stolen', 'cf-access-client-secret': 'secret', 'x-gateway-consumer': 'admin', 'x-gateway-route-version': 'v0' },
  })).body);
  for (const name of ['cf-access-client-id', 'cf-access-client-secret', 'x-gateway-consumer', 'x-gateway-route-version']) {
    assert.equal(echo.headers[name], undefined, name);
  }
});

test('an upstream behind Access gets the service token from secrets; clients and logs never see it', async () => {
  const res = await raw(url('/secured/x'), { headers: { 'cf-access-client-id': 'forged', 'cf-access-client-secret': 'forged' } });
  assert.equal(res.status, 200);
  const echo = JSON.parse(res.body);
  assert.equal(echo.headers['cf-access-client-id'], ACCESS_ID);
  assert.equal(echo.headers['cf-access-client-secret'], ACCESS_SECRET);
  assert.ok(!JSON.stringify(res.headers).includes(ACCESS_SECRET), 'not in the response');
  const missing = await fetch(url('/misconfigured/x'));
  assert.equal(missing.status, 500);
  assert.equal((await missing.json()).detail, 'The gateway failed to handle this request.');
  await eventually(() => gw.output().includes('Access secret E2E_MISSING_ID'), 5000);
  assert.ok(!gw.output().includes(ACCESS_SECRET), 'the secret never reaches the log');
});

test('origin errors and redirects pass through untouched, once', async () => {
  await fetch(`${users.url}/_test/stats`, { method: 'DELETE' });
  for (const code of [500, 503, 302]) {
    const res = await fetch(url(`/_test/status/${code}`), { redirect: 'manual' });
    assert.equal(res.status, code);
    assert.equal(res.headers.get('x-gateway-route-version'), version);
  }
  const counted = await stats(users);
  for (const code of [500, 503, 302]) assert.equal(counted.paths[`/_test/status/${code}`], 1, `one attempt for ${code}`);
});

test('a closed port fails fast with 502 and no internal detail', async () => {
  const started = Date.now();
  const res = await fetch(url('/closed'));
  const elapsed = Date.now() - started;
  const text = await res.text();
  assert.equal(res.status, 502);
  assert.ok(elapsed < 1000, `502 after ${elapsed} ms`);
  const body = JSON.parse(text);
  assert.deepEqual([body.title, body.route_id], ['Bad Gateway', 'closed']);
  assert.ok(!/127\.0\.0\.1|refused|connect|stack/i.test(text), text);
  assert.ok(gw.output().includes('"route_id":"closed"'), 'the cause is logged');
});

test('a slow origin gets 504 within the route timeout ±10%, and exactly one attempt', async () => {
  await fetch(`${users.url}/_test/stats`, { method: 'DELETE' });
  const started = Date.now();
  const res = await fetch(url('/slow/t504?delay_ms=3000'));
  const elapsed = Date.now() - started;
  assert.equal(res.status, 504);
  assert.ok(elapsed >= 900 && elapsed <= 1100, `504 after ${elapsed} ms (timeout 1000 ms)`);
  const body = await res.json();
  assert.deepEqual([body.title, body.route_id], ['Gateway Timeout', 'slow']);
  // Wait past the origin's delay: a retry would show up as a second hit.
  await new Promise((r) => setTimeout(r, 2500));
  const counted = await stats(users);
  assert.equal(counted.paths['/echo/t504'], 1);
  assert.equal(counted.cancelled, 1, 'the origin saw its request aborted');
});

test('64 MiB stream through the gateway both ways, intact', { timeout: 120_000 }, async () => {
  const size = 64 * 1024 * 1024;
  const { stream, digest } = patternStream(size);
  const up = await fetch(url('/upload'), { method: 'POST', body: stream, duplex: 'half' });
  assert.equal(up.status, 200);
  const echo = await up.json();
  assert.equal(echo.body_bytes, size);
  assert.equal(echo.body_sha256, await digest);

  const down = await fetch(url(`/_test/download?bytes=${size}`));
  assert.equal(down.status, 200);
  const expected = down.headers.get('x-body-sha256');
  assert.equal(expected, await digest);
  assert.deepEqual(await hashBody(down), { sha256: expected, bytes: size });
});

test('a corrupt, missing or invalid table in KV never replaces the last good one', async () => {
  const bad = [
    ['corrupt JSON', 'v-corrupt', '{"format": 1, "version": '],
    ['missing document', 'v-missing', null],
    ['unknown upstream', 'v-invalid', JSON.stringify({
      format: 1, version: 'v-invalid', environment: 'local', upstreams: {},
      routes: [{ id: 'x', path: '/x', upstream: 'nope' }],
    })],
    ['another environment', 'v-prod', JSON.stringify({
      format: 1, version: 'v-prod', environment: 'production', upstreams: {}, routes: [],
    })],
    ['version mismatch', 'v-mismatch', JSON.stringify({
      format: 1, version: 'v-other', environment: 'local', upstreams: {}, routes: [],
    })],
  ];
  for (const [name, id, doc] of bad) {
    if (doc !== null) await kvPut(`routes/versions/${id}`, doc, dir);
    await kvPut('routes/active', id, dir);
    await new Promise((r) => setTimeout(r, REFRESH_MS + 1000));
    for (let i = 0; i < 5; i++) {
      const res = await fetch(url('/users/1'));
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('x-gateway-route-version'), version, name);
    }
    await eventually(() => gw.output().includes(`routes/versions/${id}`), 2000);
  }
  assert.ok(gw.output().includes('"event":"route_table_error"'));

  // A good version still takes over within the refresh interval.
  const next = await publishLocal(table, dir);
  const [, switchMs] = await eventually(async () => (await servedBy()) === next.version, REFRESH_MS + 1000, 20);
  console.log(`# switched to ${next.version} ${switchMs} ms after publish returned`);
});

test('one structured log line per request', async () => {
  const res = await fetch(url('/users/2'), { headers: { 'x-request-id': 'log-line-1' } });
  await res.arrayBuffer();
  const [line] = await eventually(
    () => gw.output().split('\n').find((l) => l.includes('"request_id":"log-line-1"')),
    2000,
  );
  const entry = JSON.parse(line.slice(line.indexOf('{')));
  assert.deepEqual(
    Object.keys(entry).sort(),
    ['duration_ms', 'event', 'host', 'method', 'origin', 'path', 'request_id', 'route_id', 'route_version', 'status', 'upstream'].sort(),
  );
  assert.equal(entry.route_id, 'user');
  assert.equal(entry.origin, `http://127.0.0.1:${ports.users}`);
  assert.equal(entry.status, 200);
  assert.equal(typeof entry.duration_ms, 'number');
});
