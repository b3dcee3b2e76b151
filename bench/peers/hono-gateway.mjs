// Contenders (c) and (e, with policies): a JavaScript gateway written with Hono, the router
// most Workers users pick, doing what ours does: the same route table from the same KV layout
// (cached per isolate, refreshed in the background), per-route timeouts with abort,
// 404/405/502/504 as problem+json, hop-by-hop removal both ways, X-Forwarded-*, request ids,
// the route version header, and one JSON log line per request. Bundled with esbuild by
// bench/run.mjs.
//
// The route document's policies become Hono middleware on their routes, in this gateway's
// phase order (CORS → authentication → rate limit) — the types the benchmark uses: `cors` is
// Hono's own `hono/cors`; `api_key` is Hono's own `bearerAuth` reading the key header, whose
// check looks the key's SHA-256 up in the same KV layout (`apikeys/<hex>`) through a bounded
// per-isolate cache of positive and negative answers, as src/policy/api_key.rs does, and sends
// the consumer to the origin; `rate_limit` with `store = "binding"` is a middleware calling
// the same Rate Limiting binding with the same key. Any other policy fails the table build.
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';

const HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const REFRESH_MS = 5000;
let state = null; // { version, app, allowApp }
let checkedAt = 0;
let refreshing = false;

// As src/policy/api_key.rs and src/edge/isolate.rs: cache times, capacity, longest key.
const KEY_CACHE_MS = 30_000;
const KEY_NEGATIVE_CACHE_MS = 5_000;
const KEY_CACHE_CAPACITY = 10_000;
const MAX_KEY_LEN = 256;
const CONSUMER_HEADER = 'x-gateway-consumer';
const PHASES = { cors: 0, api_key: 1, rate_limit: 2 };
const keyCache = new Map(); // hex SHA-256 → { record, until }
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function stripHopByHop(headers) {
  const named = (headers.get('connection') || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const name of [...headers.keys()]) {
    if (HOP.includes(name) || name.startsWith('proxy-') || named.includes(name)) headers.delete(name);
  }
}

function problem(status, title, requestId, routeId, version, extra = {}) {
  const body = { type: 'about:blank', status, title, request_id: requestId };
  if (routeId) body.route_id = routeId;
  const headers = { 'content-type': 'application/problem+json', 'x-request-id': requestId, ...extra };
  if (version) headers['x-gateway-route-version'] = version;
  return new Response(JSON.stringify(body), { status, headers });
}

function honoPath(path) {
  return path.replace(/\{\*([^}]+)\}/g, '*').replace(/\{([^}]+)\}/g, ':$1');
}

function rewrite(route, path, c) {
  const r = route.rewrite;
  if (!r) return path;
  if (r.strip_prefix) return path.slice(r.strip_prefix.length) || '/';
  const star = route.path.indexOf('{*');
  return r.template.replace(/\{\*?([^}]+)\}/g, (_, name) =>
    route.path.includes(`{*${name}}`) ? path.slice(star) : c.req.param(name));
}

function pick(origins) {
  const list = origins.map((o) => (typeof o === 'string' ? { url: o, weight: 1 } : o)).filter((o) => o.weight > 0);
  let point = Math.random() * list.reduce((s, o) => s + o.weight, 0);
  for (const o of list) { if (point < o.weight) return o.url; point -= o.weight; }
  return list[list.length - 1].url;
}

/** `Origin` rules as src/policy/cors.rs reads them: `*`, an exact origin, or
 *  `scheme://*.suffix` for any subdomain. */
function originRule(rule) {
  if (rule === '*') return () => true;
  const [scheme, host] = rule.split('://');
  if (!host.startsWith('*.')) return (origin) => origin === rule;
  const prefix = `${scheme}://`;
  const suffix = host.slice(1);
  return (origin) => {
    if (!origin.startsWith(prefix) || !origin.endsWith(suffix)) return false;
    const sub = origin.slice(prefix.length, origin.length - suffix.length);
    return /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(sub);
  };
}

function corsPolicy(spec, methods) {
  const any = spec.allow_origins.includes('*');
  const rules = spec.allow_origins.map(originRule);
  return cors({
    origin: any ? '*' : (origin) => (rules.some((allows) => allows(origin)) ? origin : null),
    allowMethods: spec.allow_methods?.length ? spec.allow_methods : methods,
    allowHeaders: spec.allow_headers ?? [],
    exposeHeaders: spec.expose_headers ?? [],
    credentials: spec.allow_credentials ?? false,
    maxAge: spec.max_age_s,
  });
}

async function sha256Hex(text) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let hex = '';
  for (const b of digest) hex += HEX[b];
  return hex;
}

/** The key record for `hash`, through the per-isolate cache; throws if KV cannot answer. */
async function keyRecord(kv, hash) {
  const now = Date.now();
  const cached = keyCache.get(hash);
  if (cached !== undefined && now < cached.until) return cached.record;
  const text = await kv.get(`apikeys/${hash}`);
  let record = null;
  if (text !== null) {
    try { record = JSON.parse(text); } catch { record = null; }
  }
  if (keyCache.size >= KEY_CACHE_CAPACITY && !keyCache.has(hash)) {
    for (const [k, v] of keyCache) if (now >= v.until) keyCache.delete(k);
    if (keyCache.size >= KEY_CACHE_CAPACITY) keyCache.clear();
  }
  keyCache.set(hash, { record, until: now + (record ? KEY_CACHE_MS : KEY_NEGATIVE_CACHE_MS) });
  return record;
}

function apiKeyPolicy(spec, route, version) {
  if (spec.query !== undefined) throw new Error('api_key with `query` is not supported here');
  const header = spec.header ?? 'x-api-key';
  const consumerHeader = spec.consumer_header ?? CONSUMER_HEADER;
  const challenge = `ApiKey realm="edge-gateway", header="${header}"`;
  const refuse = { message: (c) => problem(401, 'Unauthorized', c.env.requestId, route.id, version), wwwAuthenticateHeader: challenge };
  return bearerAuth({
    headerName: header,
    prefix: '',
    noAuthenticationHeader: refuse,
    invalidAuthenticationHeader: refuse,
    invalidToken: refuse,
    async verifyToken(token, c) {
      if (token.length > MAX_KEY_LEN) return false;
      let record;
      try {
        record = await keyRecord(c.env.bindings.ROUTES, await sha256Hex(token));
      } catch (e) {
        console.error(JSON.stringify({ event: 'api_key_error', request_id: c.env.requestId, error: String(e?.message ?? e) }));
        throw new HTTPException(503, { res: problem(503, 'Authentication Unavailable', c.env.requestId, route.id, version, { 'retry-after': '5' }) });
      }
      if (!record || (record.expires_at !== undefined && Date.now() / 1000 >= record.expires_at)) return false;
      c.env.consumer = record.consumer;
      const ops = [['set', consumerHeader, record.consumer]];
      if (!spec.forward_key) ops.push(['remove', header]);
      c.set('upstreamHeaders', ops);
      return true;
    },
  });
}

function rateLimitPolicy(name, spec, route, version) {
  if (spec.store !== 'binding') throw new Error(`rate_limit store ${spec.store} is not supported here`);
  const kind = spec.key;
  const policyHeader = `"${name}";q=${spec.limit};w=${spec.period_s}`;
  return async (c, next) => {
    const value = kind === 'consumer' ? c.env.consumer
      : kind === 'ip' ? c.req.header('cf-connecting-ip')
        : kind === 'header' ? c.req.header(spec.header) : route.id;
    const key = `${name}|${kind}|${value ?? '-'}`.toLowerCase();
    let limited = false;
    try {
      limited = !(await c.env.bindings[spec.binding].limit({ key })).success;
    } catch (e) {
      // As this gateway: a limiter that cannot answer lets the request through, and says so.
      console.error(JSON.stringify({ event: 'rate_limit_error', policy: name, request_id: c.env.requestId, error: String(e?.message ?? e) }));
    }
    if (limited && spec.action === 'log') {
      console.log(JSON.stringify({ event: 'policy_would_reject', policy: name, request_id: c.env.requestId, route_id: route.id, key }));
    } else if (limited) {
      return problem(429, 'Too Many Requests', c.env.requestId, route.id, version, { 'retry-after': String(spec.period_s), 'ratelimit-policy': policyHeader });
    }
    await next();
    c.res.headers.append('ratelimit-policy', policyHeader);
  };
}

/** The route's policies as middleware, in phase order; `[]` for a route without any. */
function policies(doc, route, methods) {
  const named = (route.policies ?? []).map((name) => {
    const [type, spec] = Object.entries(doc.policies[name])[0];
    if (!(type in PHASES)) throw new Error(`policy type ${type} is not supported here`);
    return { name, type, spec };
  });
  named.sort((x, y) => PHASES[x.type] - PHASES[y.type]);
  return named.map(({ name, type, spec }) => (type === 'cors' ? corsPolicy(spec, methods)
    : type === 'api_key' ? apiKeyPolicy(spec, route, doc.version) : rateLimitPolicy(name, spec, route, doc.version)));
}

async function forward(c, route, upstream, version) {
  const request = c.req.raw;
  const url = new URL(request.url);
  const requestId = c.env.requestId;
  const headers = new Headers(request.headers);
  stripHopByHop(headers);
  headers.delete('host');
  const client = headers.get('cf-connecting-ip');
  const xff = headers.get('x-forwarded-for');
  if (client) headers.set('x-forwarded-for', xff ? `${xff}, ${client}` : client);
  headers.set('x-forwarded-proto', url.protocol.slice(0, -1));
  headers.set('x-forwarded-host', url.host);
  headers.set('x-request-id', requestId);
  const ops = c.get('upstreamHeaders');
  if (ops !== undefined) {
    for (const [op, name, value] of ops) if (op === 'set') headers.set(name, value); else headers.delete(name);
  }
  const origin = pick(upstream.origins);
  const timeout = route.timeout_ms ?? upstream.timeout_ms;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let response;
  try {
    response = await fetch(origin + rewrite(route, url.pathname, c) + url.search, {
      method: request.method, headers, body: request.body, redirect: 'manual', signal: controller.signal,
    });
  } catch (e) {
    const timedOut = controller.signal.aborted;
    return problem(timedOut ? 504 : 502, timedOut ? 'Gateway Timeout' : 'Bad Gateway', requestId, route.id, version);
  } finally {
    clearTimeout(timer);
  }
  const out = new Headers(response.headers);
  stripHopByHop(out);
  out.set('x-request-id', requestId);
  out.set('x-gateway-route-version', version);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: out });
}

function build(doc) {
  const app = new Hono();
  const allowApp = new Hono();
  const allow = new Map();
  for (const route of doc.routes) {
    const path = honoPath(route.path);
    const methods = route.methods?.length ? route.methods : METHODS;
    const upstream = doc.upstreams[route.upstream];
    const middleware = policies(doc, route, methods);
    app.on(methods.includes('GET') ? [...methods, 'HEAD'] : methods, path, ...middleware, (c) => forward(c, route, upstream, doc.version));
    // A CORS preflight reaches the route's CORS middleware, which answers it.
    const corsPolicies = (route.policies ?? []).filter((name) => 'cors' in doc.policies[name]);
    if (corsPolicies.length > 0 && !methods.includes('OPTIONS')) {
      app.options(path, ...corsPolicies.map((name) => corsPolicy(doc.policies[name].cors, methods)));
    }
    allow.set(path, [...(allow.get(path) || []), ...methods]);
  }
  for (const [path, methods] of allow) allowApp.all(path, () => new Response(null, { headers: { allow: methods.join(', ') } }));
  app.notFound(async (c) => {
    const probe = await allowApp.fetch(new Request(c.req.url));
    const id = c.env.requestId;
    return probe.headers.get('allow')
      ? problem(405, 'Method Not Allowed', id, null, doc.version, { allow: probe.headers.get('allow') })
      : problem(404, 'Not Found', id, null, doc.version);
  });
  return { version: doc.version, app };
}

async function load(env) {
  const version = await env.ROUTES.get('routes/active');
  if (!version || state?.version === version) return;
  const text = await env.ROUTES.get(`routes/versions/${version}`, { cacheTtl: 86400 });
  try {
    state = build(JSON.parse(text));
  } catch (e) {
    console.error(JSON.stringify({ event: 'route_table_error', error: String(e) }));
  }
}

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const given = request.headers.get('x-request-id');
    const requestId = given && /^[A-Za-z0-9\-_.:/+=]{1,128}$/.test(given) ? given : crypto.randomUUID();
    const now = Date.now();
    if (!state) {
      await load(env);
      checkedAt = Date.now();
    } else if (!refreshing && now - checkedAt >= REFRESH_MS) {
      refreshing = true;
      ctx.waitUntil(load(env).finally(() => { checkedAt = Date.now(); refreshing = false; }));
    }
    if (!state) return problem(503, 'Route Table Unavailable', requestId, null, null, { 'retry-after': '5' });
    const context = { requestId, bindings: env, consumer: undefined };
    const response = await state.app
      .fetch(request, context, ctx)
      .catch(() => problem(500, 'Internal Server Error', requestId));
    const url = new URL(request.url);
    console.log(JSON.stringify({
      event: 'request', request_id: requestId, method: request.method, host: url.host, path: url.pathname,
      status: response.status, duration_ms: Date.now() - started, route_version: state.version, consumer: context.consumer,
    }));
    return response;
  },
};
