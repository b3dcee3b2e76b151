// Contender (c): a JavaScript gateway written with Hono, the router most Workers users pick,
// doing what ours does: the same route table from the same KV layout (cached per isolate,
// refreshed in the background), per-route timeouts with abort, 404/405/502/504 as
// problem+json, hop-by-hop removal both ways, X-Forwarded-*, request ids, the route version
// header, and one JSON log line per request. Bundled with esbuild by bench/run.mjs.
import { Hono } from 'hono';

const HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const REFRESH_MS = 5000;
let state = null; // { version, app, allowApp }
let checkedAt = 0;
let refreshing = false;

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
    app.on(methods.includes('GET') ? [...methods, 'HEAD'] : methods, path, (c) => forward(c, route, upstream, doc.version));
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
    const response = await state.app
      .fetch(request, { requestId }, ctx)
      .catch(() => problem(500, 'Internal Server Error', requestId));
    const url = new URL(request.url);
    console.log(JSON.stringify({
      event: 'request', request_id: requestId, method: request.method, host: url.host, path: url.pathname,
      status: response.status, duration_ms: Date.now() - started, route_version: state.version,
    }));
    return response;
  },
};
