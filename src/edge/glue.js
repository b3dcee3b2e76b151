// The hot path's JavaScript half. Rust decides everything about a request — route, policies,
// origin, timeout, header operations, request id — and hands `proxy` ONE plan object (JSON,
// src/forward.rs `Plan`). `proxy` runs the plan's rate-limit gates, builds the origin request
// from the client's, applies the header policy and the plan's operations, counts a body of
// undeclared length, sends the request once with the route's timeout, relays the response
// (or answers 400/413/429/502/504), and finishes the access log line. The origin's body is
// piped natively so that a break after its headers is logged. Rust never awaits the
// origin, so a request costs no Rust futures, wakers or closures (BENCHMARKS.md).
//
// `answer` builds every response the gateway gives itself (src/problem.rs `Answer`): Rust
// asks it for 404, 405, 401, 403, 503 and preflights, and `proxy` for 400, 413, 429, 502 and 504.
// The policy data — hop-by-hop names (src/headers.rs) and the failure statuses, titles and
// details (src/problem.rs) — comes from Rust through `configure`; src/edge/tests.rs checks
// this file against the Rust side.
//
// Traffic statistics (src/stats): every response — relayed, or answered by `proxy` or by
// Rust (`tallyAnswer`) — is counted per window × (version, route, upstream) in nested Maps
// (no allocation but a key's first in a window); Rust takes the counts with `takeStats` and
// adds them to D1 in the background. Window length and latency bucket bounds come through
// `configure`.

let hopByHop = [];
let failures = null; // {timedOut, failed, tooLarge, bodyNotAllowed}: {status, title, detail}
let windowMs = 10000; // src/stats WINDOW_MS
let bounds = []; // src/stats BUCKET_BOUNDS_MS

/** Sets the hop-by-hop header names, the 504/502/413/400 problem texts and the statistics'
 *  window and bucket bounds (`{windowMs, bounds}`), once per isolate. */
export function configure(names, kinds, stats) {
  hopByHop = names;
  failures = kinds;
  windowMs = stats.windowMs;
  bounds = stats.bounds;
}

// window start → version → route → upstream → counters, in the column order of
// `traffic_stats` (src/stats/sql.rs COUNTER_COLUMNS): requests, s1xx…s5xx, gateway_5xx,
// latency_sum_ms, h0…h10.
let tallies = new Map();
let currentStart = -1;
let current = null; // tallies.get(currentStart)

/** Counts one response. `gateway`: the gateway answered it itself (a 502/503/504 then counts
 *  as `gateway_5xx`). */
function tally(version, route, upstream, status, ms, gateway, now) {
  const start = now - (now % windowMs);
  if (start !== currentStart) {
    currentStart = start;
    current = tallies.get(start);
    if (current === undefined) tallies.set(start, current = new Map());
  }
  let routes = current.get(version);
  if (routes === undefined) current.set(version, routes = new Map());
  let upstreams = routes.get(route);
  if (upstreams === undefined) routes.set(route, upstreams = new Map());
  let c = upstreams.get(upstream);
  if (c === undefined) upstreams.set(upstream, c = new Array(8 + bounds.length + 1).fill(0));
  c[0]++;
  c[status < 200 ? 1 : status >= 500 ? 5 : Math.floor(status / 100)]++;
  if (gateway && status >= 502 && status <= 504) c[6]++;
  c[7] += ms;
  let b = 0;
  while (b < bounds.length && ms > bounds[b]) b++;
  c[8 + b]++;
}

/** Counts a response Rust answered (src/stats `Outcome`, JSON). */
export function tallyAnswer(text) {
  const o = JSON.parse(text);
  tally(o.version, o.route, o.upstream, o.status, o.duration_ms, true, Date.now());
}

/** The counts so far, as JSON `[[window start, version, route, upstream, [counters…]], …]`;
 *  counting starts over. */
export function takeStats() {
  const rows = [];
  for (const [start, versions] of tallies) {
    for (const [version, routes] of versions) {
      for (const [route, upstreams] of routes) {
        for (const [upstream, c] of upstreams) rows.push([start, version, route, upstream, c]);
      }
    }
  }
  tallies = new Map();
  currentStart = -1;
  current = null;
  return JSON.stringify(rows);
}

/** Request headers that grant access or that only the gateway sets: never taken from a client. */
const OWNED = ['cf-access-client-id', 'cf-access-client-secret'];

/** Applies header operations (`["set"|"append", name, value]`, `["remove", name]`). */
function apply(headers, ops) {
  if (ops === undefined) return;
  for (const op of ops) {
    if (op[0] === 'set') headers.set(op[1], op[2]);
    else if (op[0] === 'append') headers.append(op[1], op[2]);
    else headers.delete(op[1]);
  }
}

/** A response the gateway gives itself: problem+json (or no body, for a preflight), with the
 *  answer's headers and then `ops` (the route's response operations). The body is the
 *  `contracts::Problem` that `Answer::body` describes (src/edge/tests.rs checks they agree). */
export function answer(a, ops) {
  if (typeof a === 'string') a = JSON.parse(a);
  const headers = new Headers();
  let body = null;
  if (a.title !== undefined) {
    headers.set('content-type', 'application/problem+json');
    body = JSON.stringify({
      type: 'about:blank', status: a.status, title: a.title, detail: a.detail, request_id: a.request_id, route_id: a.route_id,
    });
  }
  headers.set('cache-control', 'no-store');
  headers.set('x-request-id', a.request_id);
  if (a.version !== undefined) headers.set('x-gateway-route-version', a.version);
  for (const [name, value] of a.headers) headers.set(name, value);
  apply(headers, a.ops);
  apply(headers, ops);
  return new Response(body, { status: a.status, headers });
}

/** A failure answer for a forwarded request. */
function failure(kind, plan) {
  return answer({ ...kind, request_id: plan.request_id, route_id: plan.route_id, version: plan.version, headers: [] }, plan.response_headers);
}

/** Completes the access log line whose head Rust rendered (src/access_log.rs `tail`) and
 *  counts the response. `gateway`: the gateway answered it itself. */
function log(plan, status, gateway, error, policy) {
  const now = Date.now();
  const ms = Math.max(0, now - plan.started);
  let tail = error === undefined ? '' : `,"error":${JSON.stringify(error)}`;
  if (policy !== undefined) tail += `,"policy":${JSON.stringify(policy)}`;
  console.log(`${plan.log_head},"status":${status},"duration_ms":${ms}${tail}}`);
  tally(plan.version, plan.route_id, plan.upstream, status, ms, gateway, now);
}

/** Deletes hop-by-hop headers: the fixed set, every `proxy-*`, and what `Connection` names.
 *  For a WebSocket upgrade, `Upgrade` and `Connection` stay. With `owned` (a client's
 *  request), also every `x-gateway-*` header and the Access service-token headers: a client
 *  may not speak for the gateway (the plan sets them where the gateway means to). */
export function stripHopByHop(headers, owned) {
  const connection = headers.get('connection');
  const upgrade = headers.get('upgrade');
  const websocket = upgrade !== null && upgrade.split(',').some((t) => t.trim().toLowerCase() === 'websocket');
  const named = connection === null ? [] : connection.toLowerCase().split(',').map((t) => t.trim());
  let doomed = null;
  for (const name of headers.keys()) {
    if (websocket && (name === 'upgrade' || name === 'connection')) continue;
    if (hopByHop.includes(name) || (name.length > 6 && name.startsWith('proxy-')) || named.includes(name)
      || (owned && (name.startsWith('x-gateway-') || OWNED.includes(name)))) {
      (doomed ??= []).push(name);
    }
  }
  if (doomed !== null) for (const name of doomed) headers.delete(name);
}

/** The origin's response with hop-by-hop headers removed, the gateway's headers added and the
 *  plan's response operations applied; the body stream is handed over untouched. A
 *  WebSocket handshake passes as is. With `plan`, a body that breaks off after the headers
 *  were relayed (the origin reset the connection, or the client went away) is logged. */
export function relay(response, requestId, version, ops, plan) {
  if (response.status === 101) return response;
  const headers = new Headers(response.headers);
  stripHopByHop(headers, false);
  headers.set('x-request-id', requestId);
  headers.set('x-gateway-route-version', version);
  apply(headers, ops);
  let body = response.body;
  if (body !== null && plan !== undefined) body = watched(response, plan);
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** Bodies declared at most this long are relayed unwatched: they arrive in one or two reads,
 *  and the pipe costs a small response ~15% of the gateway's throughput (BENCHMARKS.md). */
const WATCH_ABOVE_BYTES = 65536;

/** The origin's body, watched when it is long or of unknown length: piped natively through
 *  an identity stream (a `FixedLengthStream` for a declared length, so it stays declared), a
 *  body that breaks off after the headers were relayed (the origin reset the connection, or
 *  the client went away) rejects the pipe and is logged — with no JavaScript step per chunk.
 *  An encoded body (`Content-Encoding`) is not watched: piping would decode and re-encode
 *  it, where the runtime otherwise passes it through. */
function watched(response, plan) {
  const { headers } = response;
  const declared = headers.get('content-length');
  const length = declared === null ? NaN : Number(declared);
  if (headers.has('content-encoding') || length <= WATCH_ABOVE_BYTES) return response.body;
  const { readable, writable } = Number.isSafeInteger(length) ? new FixedLengthStream(length) : new IdentityTransformStream();
  response.body.pipeTo(writable).catch((e) => {
    console.error(JSON.stringify({
      event: 'response_body_error', request_id: plan.request_id, route_id: plan.route_id, error: String(e?.message ?? e),
    }));
  });
  return readable;
}

/** `promise`, or a rejection once `ms` passed without an answer. */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Asks a gate's store whether the request is within its limit: `{limited, headers}`. */
async function ask(g, env) {
  if (g.store === 'binding') return { limited: !(await env[g.binding].limit({ key: g.key })).success, headers: [] };
  const ns = env[g.binding];
  const res = await ns.get(ns.idFromName(g.key)).fetch('https://rate-limiter/hit', {
    method: 'POST', body: JSON.stringify({ policy: g.policy, limit: g.limit, period_s: g.period_s }),
  });
  const hit = await res.json();
  return { limited: !hit.allowed, headers: hit.headers };
}

/** Runs one rate-limit gate within the plan's `gate_timeout_ms`; resolves to an answer when
 *  the request must stop there. */
async function gate(g, env, plan) {
  let limited;
  const extra = [];
  try {
    const hit = await within(ask(g, env), plan.gate_timeout_ms, `rate limit store ${g.binding}`);
    limited = hit.limited;
    for (const [name, value] of hit.headers) {
      if (limited) extra.push([name, value]);
      else plan.response_headers.push(['append', name, value]);
    }
  } catch (e) {
    // A limiter that cannot answer (or not in time) lets the request through (availability
    // first) and says so.
    console.error(JSON.stringify({ event: 'rate_limit_error', policy: g.policy, request_id: plan.request_id, error: String(e?.message ?? e) }));
    return null;
  }
  if (!limited) return null;
  if (g.log_only) {
    console.log(JSON.stringify({ event: 'policy_would_reject', policy: g.policy, request_id: plan.request_id, route_id: plan.route_id, key: g.key }));
    return null;
  }
  const reject = { ...g.reject, route_id: plan.route_id, version: plan.version };
  for (const [name, value] of extra) {
    const at = reject.headers.findIndex(([n]) => n === name);
    if (at >= 0) reject.headers[at] = [name, value]; else reject.headers.push([name, value]);
  }
  return answer(reject, plan.response_headers);
}

/** A body stream that errors (and flags it) once more than `max` bytes passed. */
function counted(body, max, state) {
  let seen = 0;
  return body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) {
        state.over = true;
        state.abort();
        controller.error(new Error(`request body over ${max} bytes`));
      } else {
        controller.enqueue(chunk);
      }
    },
  }));
}

/** Forwards `request` as `plan` (JSON text) says, once, and resolves to the client's
 *  response: the relayed origin response, 429 from a gate, 413 if a streamed body crossed
 *  its limit, 504 if no response headers came within the timeout (the origin request is
 *  aborted), or 502 if the fetch failed. Never retries. */
export async function proxy(request, env, text) {
  const plan = JSON.parse(text);
  if (request.body !== null && (request.method === 'GET' || request.method === 'HEAD')) {
    // The runtime refuses to send such a request; say so, rather than blame the origin.
    const a = failure(failures.bodyNotAllowed, plan);
    log(plan, a.status, true, `${request.method} request with a body: not forwarded`);
    return a;
  }
  for (const g of plan.gates ?? []) {
    const stop = await gate(g, env, plan);
    if (stop !== null) {
      log(plan, stop.status, true, `rate limit ${g.policy} reached`, g.policy);
      return stop;
    }
  }
  const headers = new Headers(request.headers);
  stripHopByHop(headers, true);
  headers.delete('host');
  const client = headers.get('cf-connecting-ip');
  if (client !== null) {
    const chain = headers.get('x-forwarded-for')?.trim();
    headers.set('x-forwarded-for', chain ? `${chain}, ${client}` : client);
  }
  headers.set('x-forwarded-proto', plan.proto);
  headers.set('x-forwarded-host', plan.host);
  headers.set('x-request-id', plan.request_id);
  apply(headers, plan.request_headers);
  const controller = new AbortController();
  const state = { over: false, abort: () => controller.abort() };
  // The client's body goes to the origin as the runtime gave it: piped through an identity
  // stream, a body the client broke off reached the origin as if complete (tests/e2e/
  // hostile.test.mjs), so a broken client body is logged as the fetch's failure (502).
  let body = request.body;
  if (body !== null && plan.max_body !== undefined) body = counted(body, plan.max_body, state);
  const timer = setTimeout(() => controller.abort(), plan.timeout_ms);
  const init = { method: request.method, headers, body, redirect: 'manual', signal: controller.signal };
  let response;
  try {
    response = await (plan.binding === undefined ? fetch(plan.url, init) : env[plan.binding].fetch(plan.url, init));
  } catch (e) {
    const timedOut = controller.signal.aborted && !state.over;
    const kind = state.over ? failures.tooLarge : failures[timedOut ? 'timedOut' : 'failed'];
    const why = state.over ? `request body over ${plan.max_body} bytes; origin request aborted`
      : timedOut ? `no response headers within ${plan.timeout_ms} ms` : String(e?.message ?? e);
    const a = failure(kind, plan);
    log(plan, a.status, true, why, state.over ? plan.body_policy : undefined);
    return a;
  } finally {
    clearTimeout(timer);
  }
  const relayed = relay(response, plan.request_id, plan.version, plan.response_headers, plan);
  log(plan, relayed.status, false);
  return relayed;
}

/** Imports a public JWK (JSON text) for verifying `alg` with WebCrypto. */
export function importKey(jwk, alg) {
  const params = alg.startsWith('RS')
    ? { name: 'RSASSA-PKCS1-v1_5', hash: `SHA-${alg.slice(2)}` }
    : { name: 'ECDSA', namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' };
  return crypto.subtle.importKey('jwk', JSON.parse(jwk), params, false, ['verify']);
}

/** Verifies a JWS signature (raw bytes; r||s for ECDSA) over `data` with WebCrypto. */
export function verify(key, alg, signature, data) {
  const params = alg.startsWith('RS') ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: `SHA-${alg.slice(2)}` };
  return crypto.subtle.verify(params, key, signature, new TextEncoder().encode(data));
}

/** GETs `url` and resolves to its text; rejects on a non-2xx status or after `timeoutMs`. */
export async function fetchText(url, timeoutMs) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.text();
}
