// The hot path's JavaScript half. Rust decides everything about a request — route, rewrite,
// origin, timeout, request id — synchronously, then returns the promise of ONE call into
// `proxy`, which builds the origin request from the client's, applies the header policy,
// sends it once with the route's timeout, relays the response (or answers 502/504), and
// finishes the access log line. Rust never awaits the origin, so a request costs no Rust
// futures, wakers or closures (BENCHMARKS.md). The policy data — hop-by-hop names
// (src/headers.rs) and the failure statuses, titles and details (src/problem.rs) — comes
// from Rust through `configure`; src/edge/tests.rs checks this file against the Rust side.

let hopByHop = [];
let failures = null; // [timedOut, failed] as {status, title, detail}

/** Sets the hop-by-hop header names and the 504/502 problem texts, once per isolate. */
export function configure(names, timedOut, failed) {
  hopByHop = names;
  failures = [timedOut, failed];
}

/** A problem+json response, shaped exactly as src/problem.rs renders one. */
export function problem(kind, requestId, routeId, version) {
  const { status, title, detail } = kind;
  const body = JSON.stringify({ type: 'about:blank', status, title, detail, request_id: requestId, route_id: routeId });
  const headers = new Headers({
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'x-request-id': requestId,
    'x-gateway-route-version': version,
  });
  return new Response(body, { status, headers });
}

/** Completes an access log line whose head Rust rendered (src/access_log.rs `tail`). */
function log(head, status, started, error) {
  const tail = error === undefined ? '' : `,"error":${JSON.stringify(error)}`;
  console.log(`${head},"status":${status},"duration_ms":${Math.max(0, Date.now() - started)}${tail}}`);
}

/** Deletes hop-by-hop headers: the fixed set, every `proxy-*`, and what `Connection` names.
 *  For a WebSocket upgrade, `Upgrade` and `Connection` stay. */
export function stripHopByHop(headers) {
  const connection = headers.get('connection');
  const upgrade = headers.get('upgrade');
  const websocket = upgrade !== null && upgrade.split(',').some((t) => t.trim().toLowerCase() === 'websocket');
  const named = connection === null ? [] : connection.toLowerCase().split(',').map((t) => t.trim());
  let doomed = null;
  for (const name of headers.keys()) {
    if (websocket && (name === 'upgrade' || name === 'connection')) continue;
    if (hopByHop.includes(name) || (name.length > 6 && name.startsWith('proxy-')) || named.includes(name)) {
      (doomed ??= []).push(name);
    }
  }
  if (doomed !== null) for (const name of doomed) headers.delete(name);
}

/** The origin's response with hop-by-hop headers removed and the gateway's headers added;
 *  the body stream is handed over untouched. A WebSocket handshake passes as is. */
export function relay(response, requestId, version) {
  if (response.status === 101) return response;
  const headers = new Headers(response.headers);
  stripHopByHop(headers);
  headers.set('x-request-id', requestId);
  headers.set('x-gateway-route-version', version);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Forwards `request` to `url` once and resolves to the response for the client: the
 *  relayed origin response, 504 if no response headers came within `timeoutMs` (the origin
 *  request is aborted), or 502 if the fetch failed. Never retries. */
export async function proxy(request, url, requestId, proto, host, version, timeoutMs, accessId, accessSecret, fetcher, routeId, logHead, started) {
  const headers = new Headers(request.headers);
  stripHopByHop(headers);
  headers.delete('host');
  const client = headers.get('cf-connecting-ip');
  if (client !== null) {
    const chain = headers.get('x-forwarded-for')?.trim();
    headers.set('x-forwarded-for', chain ? `${chain}, ${client}` : client);
  }
  headers.set('x-forwarded-proto', proto);
  headers.set('x-forwarded-host', host);
  headers.set('x-request-id', requestId);
  if (accessId !== undefined) {
    headers.set('cf-access-client-id', accessId);
    headers.set('cf-access-client-secret', accessSecret);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const init = { method: request.method, headers, body: request.body, redirect: 'manual', signal: controller.signal };
  let response;
  try {
    response = await (fetcher === undefined ? fetch(url, init) : fetcher.fetch(url, init));
  } catch (e) {
    const timedOut = controller.signal.aborted;
    const answer = problem(failures[timedOut ? 0 : 1], requestId, routeId, version);
    log(logHead, answer.status, started, timedOut ? `no response headers within ${timeoutMs} ms` : String(e?.message ?? e));
    return answer;
  } finally {
    clearTimeout(timer);
  }
  const answer = relay(response, requestId, version);
  log(logHead, answer.status, started);
  return answer;
}
