// A D1 database for raw workerd, as a real HTTP server in this Node process: workerd's D1
// binding (the `cloudflare-internal:d1-api` module, wrapped around a `fetcher` bound to this
// server as an `external` service) sends `POST /query` or `/execute` with a JSON array of
// `{sql, params}`, and this server answers every statement with an empty success, D1's answer
// shape. It runs no SQL: it keeps what the gateway's traffic statistics flush writes (the rows
// of `traffic_stats` and `shadow_diffs` upserts, each a JSON array in ?1), so the bench can see
// that a gateway flushed, how often, and which (version, route, upstream) it counted.
import { createServer } from 'node:http';
import { once } from 'node:events';

const META = {
  served_by: 'bench-d1-store', served_by_primary: true, duration: 0, changes: 0, last_row_id: 0,
  changed_db: false, size_after: 0, rows_read: 0, rows_written: 0,
};

/** Starts a store on a free loopback port. */
export async function startD1Store() {
  const store = {
    port: 0,
    /** Batches received (one per flush). */
    batches: 0,
    /** Statements received, by their first words. */
    statements: {},
    /** `version route upstream` → requests, from the traffic_stats upserts. */
    traffic: {},
    /** `version shadow method kind route shadow_route` → requests, from shadow_diffs upserts. */
    diffs: {},
    /** When each batch arrived (ms since the store started). */
    at: [],
    started: Date.now(),
    reset() {
      Object.assign(store, { batches: 0, statements: {}, traffic: {}, diffs: {}, at: [], started: Date.now() });
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
  const record = ({ sql, params }) => {
    const head = sql.trim().split(/\s+/).slice(0, 3).join(' ');
    store.statements[head] = (store.statements[head] ?? 0) + 1;
    const rows = () => { try { return JSON.parse(params?.[0] ?? '[]'); } catch { return []; } };
    if (/^INSERT INTO traffic_stats/i.test(sql)) {
      for (const [, version, route, upstream, requests] of rows()) {
        const key = `${version} ${route} ${upstream}`;
        store.traffic[key] = (store.traffic[key] ?? 0) + Number(requests);
      }
    } else if (/^INSERT INTO shadow_diffs/i.test(sql)) {
      for (const [, version, shadow, method, route, shadowRoute, kind, , , , requests] of rows()) {
        const key = `${version} ${shadow} ${method} ${kind} ${route} ${shadowRoute}`;
        store.diffs[key] = (store.diffs[key] ?? 0) + Number(requests);
      }
    }
  };
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url, 'http://d1');
    if (req.method !== 'POST' || !['/query', '/execute'].includes(url.pathname)) {
      res.statusCode = 404;
      return res.end();
    }
    let queries;
    try {
      queries = JSON.parse(body);
    } catch (e) {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ success: false, error: `not JSON: ${e.message}` }));
    }
    if (!Array.isArray(queries)) queries = [queries];
    store.batches++;
    store.at.push(Date.now() - store.started);
    for (const q of queries) record(q);
    const rowsAndColumns = url.searchParams.get('resultsFormat') === 'ROWS_AND_COLUMNS';
    const results = rowsAndColumns ? { columns: [], rows: [] } : [];
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(queries.map(() => ({ success: true, results, meta: META }))));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  store.port = server.address().port;
  return store;
}
