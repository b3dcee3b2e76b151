// End to end: every policy in the real runtime — wrangler dev (workerd) with the real Rate
// Limiting binding, the RateLimiter Durable Object and local KV, the sample identity provider
// (backends/idp) serving JWKS and issuing tokens, and the users backend echoing what arrived.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey } from 'node:crypto';
import { request } from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ROOT, applyMigrations, freePort, kvPut, publishLocal, run, startBackend, startGateway, stopAll,
} from '../../scripts/lib/stack.mjs';
import { eventually, stats, tempDir } from './support.mjs';

const ORIGIN = 'https://app.example.com';
let dir, users, idp, gw;

const url = (p) => `${gw.url}${p}`;
const gatewayctl = (args) => run(path.join(ROOT, 'target/debug/gatewayctl'), [...args, '--local', '--persist-to', dir]);
const echo = async (res) => { assert.equal(res.status, 200, await res.clone().text()); return (await res.json()).headers; };
/** Whether the gateway logged a line matching `re` (without dumping the log on failure). */
const logged = (re) => re.test(gw.output());
const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** POSTs `total` bytes in `chunk`-sized pieces, 5 ms apart, without a Content-Length; resolves
 *  with the response as soon as it arrives (the gateway may answer before the upload ends,
 *  and the connection may then be reset under the rest of the body: that is expected). */
function chunkedUpload(target, total, chunk) {
  const { hostname, port, pathname } = new URL(target);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ hostname, port, path: pathname, method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    let sent = 0;
    const pump = () => {
      if (answered || req.destroyed) return;
      if (sent >= total) { req.end(); return; }
      req.write(Buffer.alloc(chunk));
      sent += chunk;
      setTimeout(pump, 5);
    };
    pump();
  });
}

/** A token from the sample identity provider. */
async function token(body = {}) {
  const res = await fetch(`${idp.url}/token`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}
const bearer = (t) => ({ authorization: `Bearer ${t}` });

before(async () => {
  dir = await tempDir('policies');
  const ports = { users: await freePort(), idp: await freePort() };
  let text = await readFile(path.join(ROOT, 'tests/e2e/fixtures/routes.policies.toml'), 'utf8');
  text = text.replaceAll('@USERS@', ports.users).replaceAll('@IDP@', ports.idp);
  await writeFile(path.join(dir, 'routes.toml'), text);
  [users, idp] = await Promise.all([startBackend('users', ports.users), startBackend('idp', ports.idp)]);
  await applyMigrations(dir);
  await publishLocal(path.join(dir, 'routes.toml'), dir);
  gw = await startGateway({
    port: await freePort(),
    persistTo: dir,
    vars: { API_KEY_CACHE_MS: 1000, API_KEY_NEGATIVE_CACHE_MS: 500, JWKS_MIN_REFRESH_MS: 300 },
  });
  await eventually(async () => (await fetch(url('/open/x'))).status === 200, 10_000);
});

after(async () => {
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('API keys: missing or wrong → 401 with WWW-Authenticate; a valid key names its consumer', async () => {
  const missing = await fetch(url('/keyed/7'));
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('content-type'), 'application/problem+json');
  assert.match(missing.headers.get('www-authenticate'), /^ApiKey realm="edge-gateway", header="x-api-key"$/);
  assert.equal((await missing.json()).route_id, 'keyed');
  assert.equal((await fetch(url('/keyed/7'), { headers: { 'x-api-key': 'gw_not-a-key' } })).status, 401);

  const { stdout } = await gatewayctl(['keys', 'create', '--consumer', 'alice']);
  const key = stdout.trim();
  assert.match(key, /^gw_/);
  const seen = await echo(await fetch(url('/keyed/7'), {
    headers: { 'x-api-key': key, 'x-gateway-consumer': 'mallory', 'x-gateway-anything': '1', 'x-debug': 'yes' },
  }));
  assert.equal(seen['x-gateway-consumer'], 'alice', 'the gateway names the consumer; the spoofed copy is gone');
  assert.equal(seen['x-gateway-anything'], undefined, 'client x-gateway-* headers never reach an origin');
  assert.equal(seen['x-api-key'], undefined, 'the key itself is not forwarded');
  assert.equal(seen['x-user-id'], '7', 'header transform with a captured parameter');
  assert.equal(seen['x-via'], 'keyed for alice', 'header transform with route and consumer');
  assert.equal(seen['x-debug'], undefined, 'header transform removes');
  assert.ok(logged(/"route_id":"keyed".*"consumer":"alice"/), 'the consumer is in the log line');
});

test('API keys: a revoked key stops working within the cache time; an expired one never works', async () => {
  const { stdout } = await gatewayctl(['keys', 'create', '--consumer', 'bob']);
  const key = stdout.trim();
  const call = async () => (await fetch(url('/keyed/1'), { headers: { 'x-api-key': key } })).status;
  assert.equal(await call(), 200);
  const id = `k_${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;
  const listed = await gatewayctl(['keys', 'list']);
  assert.match(listed.stdout, new RegExp(`${id}\\s+bob`));
  await gatewayctl(['keys', 'revoke', id]);
  const [, ms] = await eventually(async () => (await call()) === 401, 5000, 100);
  assert.ok(ms < 3000, `revocation took ${ms} ms with API_KEY_CACHE_MS=1000`);

  const expired = 'gw_expired-by-hand';
  const hash = createHash('sha256').update(expired).digest('hex');
  await kvPut(`apikeys/${hash}`, JSON.stringify({ id: 'k_expired', consumer: 'carol', created_at: 1, expires_at: 2 }), dir);
  assert.equal((await fetch(url('/keyed/1'), { headers: { 'x-api-key': expired } })).status, 401);
  assert.ok(logged(/API key k_expired has expired/), 'log line /API key k_expired has expired/');
});

test('JWT: RS256 and ES256 tokens pass; claims reach the origin as headers', async () => {
  for (const alg of ['RS256', 'ES256']) {
    const seen = await echo(await fetch(url('/token/a'), {
      headers: { ...bearer(await token({ sub: 'dana', alg, claims: { email: 'dana@example.com' } })), 'x-user-email': 'spoof@evil' },
    }));
    assert.equal(seen['x-gateway-consumer'], 'dana', alg);
    assert.equal(seen['x-user-email'], 'dana@example.com', alg);
  }
  const noEmail = await echo(await fetch(url('/token/a'), { headers: { ...bearer(await token({ sub: 'erin' })), 'x-user-email': 'spoof@evil' } }));
  assert.equal(noEmail['x-user-email'], undefined, 'a claim the token lacks removes the client copy');
});

test('JWT: expired, not yet valid, wrong audience or issuer, tampered, alg none, HS256 with the public key → 401', async () => {
  const now = Math.floor(Date.now() / 1000);
  const good = await token({ sub: 'frank' });
  const [h, p] = good.split('.');
  const jwks = await (await fetch(`${idp.url}/.well-known/jwks.json`)).json();
  const rsa = jwks.keys.find((k) => k.kty === 'RSA');
  const pem = createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hsHeader = b64url({ alg: 'HS256', typ: 'JWT', kid: rsa.kid });
  const hs = `${hsHeader}.${p}.${createHmac('sha256', pem).update(`${hsHeader}.${p}`).digest('base64url')}`;
  const cases = {
    expired: await token({ exp: now - 3600, iat: now - 7200 }),
    'not yet valid': await token({ nbf: now + 3600 }),
    'wrong audience': await token({ aud: 'someone-else' }),
    'wrong issuer': await token({ iss: 'https://evil.example' }),
    tampered: `${h}.${b64url({ ...JSON.parse(Buffer.from(p, 'base64url')), sub: 'root' })}.${good.split('.')[2]}`,
    'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${p}.`,
    'HS256 signed with the RSA public key': hs,
    garbage: 'not.a.token',
  };
  for (const [name, t] of Object.entries(cases)) {
    const res = await fetch(url('/token/a'), { headers: bearer(t) });
    assert.equal(res.status, 401, name);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="edge-gateway"', name);
  }
  assert.equal((await fetch(url('/token/a'))).status, 401, 'no token');
});

test('JWT: a token with an unknown kid makes the gateway fetch the rotated JWKS once', async () => {
  await fetch(`${idp.url}/_test/jwks/stats`, { method: 'DELETE' });
  const rotated = await (await fetch(`${idp.url}/_test/rotate`, { method: 'POST', body: '{}' })).json();
  const fresh = await token({ sub: 'gina' });
  assert.equal(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url')).kid, rotated.kids[0]);
  await new Promise((r) => setTimeout(r, 350)); // past JWKS_MIN_REFRESH_MS
  for (let i = 0; i < 5; i++) assert.equal((await fetch(url('/token/a'), { headers: bearer(fresh) })).status, 200);
  const { fetches } = await (await fetch(`${idp.url}/_test/jwks/stats`)).json();
  assert.equal(fetches, 1, 'one fetch for the new kid, then the cache');
  const unknown = await token({ sub: 'gina', kid: 'rsa-404' });
  assert.equal((await fetch(url('/token/a'), { headers: bearer(unknown) })).status, 401);
});

test('Cloudflare Access: the assertion header is verified against the team certs and audience', async () => {
  const assertion = await token({ sub: 'u-1', aud: 'access-aud-tag', claims: { email: 'staff@example.com' } });
  const seen = await echo(await fetch(url('/staff'), { headers: { 'cf-access-jwt-assertion': assertion } }));
  assert.equal(seen['x-gateway-consumer'], 'staff@example.com');
  assert.equal((await fetch(url('/staff'))).status, 401);
  const wrongApp = await token({ sub: 'u-1', aud: 'another-app' });
  assert.equal((await fetch(url('/staff'), { headers: { 'cf-access-jwt-assertion': wrongApp } })).status, 401);
});

test('rate limit (binding): 429 after the limit with Retry-After and RateLimit-Policy; keys are separate', async () => {
  const hit = (tenant) => fetch(url('/tenant'), { headers: { 'x-tenant': tenant } });
  const statuses = [];
  for (let i = 0; i < 22; i++) {
    const res = await hit('acme');
    await res.arrayBuffer();
    statuses.push(res.status);
    assert.equal(res.headers.get('ratelimit-policy'), '"tenant-limit";q=20;w=10');
  }
  assert.deepEqual(statuses, [...Array(20).fill(200), 429, 429]);
  const limited = await hit('acme');
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '10');
  assert.equal((await limited.json()).title, 'Too Many Requests');
  assert.equal((await hit('globex')).status, 200, 'another tenant has its own budget');
  assert.ok(logged(/"status":429,.*"policy":"tenant-limit"/), 'log line /"status":429,.*"policy":"tenant-limit"/');
});

test('rate limit (log only): nothing is refused, and what would have been is logged', async () => {
  for (let i = 0; i < 24; i++) {
    const res = await fetch(url('/trial'), { headers: { 'x-tenant': 'initech' } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
  assert.ok(logged(/"event":"policy_would_reject","policy":"trial-limit"/), 'log line /"event":"policy_would_reject","policy":"trial-limit"/');
});

test('rate limit (Durable Object): an exact count per consumer with RateLimit remaining and reset', async () => {
  const { stdout } = await gatewayctl(['keys', 'create', '--consumer', 'quota-user']);
  const headers = { 'x-api-key': stdout.trim() };
  const seen = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(url('/quota'), { headers });
    await res.arrayBuffer();
    seen.push([res.status, res.headers.get('ratelimit')]);
  }
  assert.deepEqual(seen.map(([s]) => s), [200, 200, 200, 429]);
  assert.deepEqual(seen.map(([, r]) => r.split(';')[1]), ['r=2', 'r=1', 'r=0', 'r=0']);
  const limited = await fetch(url('/quota'), { headers });
  const reset = Number(limited.headers.get('ratelimit').split('t=')[1]);
  assert.ok(reset >= 1 && reset <= 60, `reset ${reset}`);
  assert.equal(limited.headers.get('retry-after'), String(reset));
  assert.equal(limited.headers.get('ratelimit-policy'), '"quota";q=3;w=60');
});

test('CORS: preflights are answered at the edge, never reaching the origin', async () => {
  await fetch(`${users.url}/_test/stats`, { method: 'DELETE' });
  const preflight = await fetch(url('/token/a'), {
    method: 'OPTIONS',
    headers: { origin: 'https://shop.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'Authorization, Content-Type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://shop.example.org');
  assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST');
  assert.equal(preflight.headers.get('access-control-allow-headers'), 'authorization, content-type');
  assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(preflight.headers.get('access-control-max-age'), '600');
  assert.match(preflight.headers.get('vary'), /Origin/);

  const refused = await fetch(url('/token/a'), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  const badHeader = await fetch(url('/token/a'), {
    method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-secret' },
  });
  assert.equal(badHeader.status, 403);
  assert.equal((await stats(users)).total, 0, 'no preflight reached the origin');
});

test('CORS: one matching origin echoed with Vary, on responses, gateway errors and 404s', async () => {
  const ok = await fetch(url('/open/a'), { headers: { origin: ORIGIN } });
  assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
  assert.equal(ok.headers.get('access-control-expose-headers'), 'x-request-id');
  assert.match(ok.headers.get('vary'), /Origin/);
  const other = await fetch(url('/open/a'), { headers: { origin: 'https://example.org.evil.io' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  assert.match(other.headers.get('vary'), /Origin/);

  const unauthorized = await fetch(url('/token/a'), { headers: { origin: ORIGIN } });
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.headers.get('access-control-allow-origin'), ORIGIN, 'a browser can read the 401');
  const missing = await fetch(url('/nowhere'), { headers: { origin: ORIGIN } });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('access-control-allow-origin'), ORIGIN, 'a browser can read the 404');
});

test('body limit: 413 at once by Content-Length; a streamed body is cut off when it crosses the limit', async () => {
  await fetch(`${users.url}/_test/stats`, { method: 'DELETE' });
  const big = await fetch(url('/upload'), { method: 'POST', body: 'x'.repeat(2048) });
  assert.equal(big.status, 413);
  assert.equal((await big.json()).title, 'Content Too Large');
  assert.equal((await stats(users)).total, 0, 'the origin never saw it');
  assert.equal((await fetch(url('/upload'), { method: 'POST', body: 'x'.repeat(1000) })).status, 200);

  const streamed = await chunkedUpload(url('/upload'), 64 * 1024, 512);
  assert.equal(streamed.status, 413);
  assert.equal(JSON.parse(streamed.body).title, 'Content Too Large');
  await eventually(async () => logged(/request body over 1024 bytes; origin request aborted","policy":"small"/), 5000);
  // The origin saw the body stop short: its read failed, and it never answered 200.
  const id = streamed.headers['x-request-id'];
  const [line] = await eventually(async () => users.output().split('\n').find((l) => l.includes(id)), 5000);
  assert.notEqual(JSON.parse(line).status, 200, line);
});

test('IP rules: a denied client gets 403; an allowed one passes', async () => {
  const denied = await fetch(url('/denied'));
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).title, 'Forbidden');
  assert.equal((await fetch(url('/allowed'))).status, 200);
});

test('header transforms: response headers set and appended', async () => {
  const { stdout } = await gatewayctl(['keys', 'create', '--consumer', 'hank']);
  const res = await fetch(url('/keyed/3'), { headers: { 'x-api-key': stdout.trim() } });
  assert.equal(res.headers.get('x-served-by'), 'edge-gateway');
  assert.match(res.headers.get('cache-control') ?? '', /private/);
});
