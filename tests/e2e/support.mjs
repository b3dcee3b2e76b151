// Helpers for the end-to-end tests: fixtures, raw HTTP, timed exchanges, a raw TCP origin for
// fault cases, the gateway's JSON log events, the sample backends' byte pattern.
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/stack.mjs';

/** A temp dir for one test file's local KV/D1 state and fixtures. */
export function tempDir(prefix) {
  return mkdtemp(path.join(os.tmpdir(), `gw-${prefix}-`));
}

/** Writes the e2e route table with ports filled in; returns its path. */
export async function routeFile(dir, ports, name = 'routes.toml', extra = '') {
  let text = await readFile(path.join(ROOT, 'tests/e2e/fixtures/routes.e2e.toml'), 'utf8');
  text = text.replaceAll('@USERS@', ports.users).replaceAll('@ORDERS@', ports.orders).replaceAll('@CLOSED@', ports.closed);
  const file = path.join(dir, name);
  await writeFile(file, text + extra);
  return file;
}

/** An HTTP/1.1 request with exactly these headers (fetch forbids some hop-by-hop ones). */
// The request target (path and query) is sent verbatim: `new URL()` would drop a bare `?`.
export function raw(url, { method = 'GET', headers = {}, body } = {}) {
  const { hostname, port } = new URL(url);
  const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: target, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Byte i of the sample backends' download pattern (backend_kit::pattern_byte). */
export const patternByte = (i) => (i * 31 + 7) % 251;

/** The pattern repeats every 251 bytes: one period plus a chunk's worth, built once. */
const PERIOD = 251;
let tile = null;

/** `len` pattern bytes starting at offset `start` (a fresh copy; len ≤ 1 MiB). */
function patternChunk(start, len) {
  if (tile === null || tile.length < len + PERIOD) {
    tile = Buffer.allocUnsafe(Math.max(len, 1 << 20) + PERIOD);
    for (let i = 0; i < tile.length; i++) tile[i] = patternByte(i);
  }
  const from = start % PERIOD;
  return Buffer.from(tile.subarray(from, from + len));
}

/** A ReadableStream of `total` pattern bytes, and a promise of their SHA-256. */
export function patternStream(total, chunkSize = 1 << 20) {
  const hash = createHash('sha256');
  let offset = 0;
  let done;
  const digest = new Promise((r) => { done = r; });
  const stream = new ReadableStream({
    pull(controller) {
      if (offset >= total) {
        done(hash.digest('hex'));
        controller.close();
        return;
      }
      const len = Math.min(chunkSize, total - offset);
      const chunk = patternChunk(offset, len);
      hash.update(chunk);
      offset += len;
      controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    },
  });
  return { stream, digest };
}

/** SHA-256 and length of a response body, read as a stream. */
export async function hashBody(response) {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response.body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Polls `check` until it returns a truthy value or `ms` pass; returns [value, elapsed ms]. */
export async function eventually(check, ms, every = 50) {
  const start = Date.now();
  let last;
  while (Date.now() - start <= ms) {
    last = await check();
    if (last) return [last, Date.now() - start];
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`condition not met within ${ms} ms (last: ${JSON.stringify(last)})`);
}

/** The stats of a sample backend. */
export async function stats(backend) {
  return (await fetch(`${backend.url}/_test/stats`)).json();
}

/** An HTTP/1.1 exchange on a connection of its own, timed: resolves when the response ends or
 *  breaks, with `headersMs` and `doneMs` since the start, the body bytes that arrived, and
 *  `complete` (false when the connection ended the body early). With `upload`, streams that
 *  many zero bytes as a Content-Length body (honouring back-pressure) and stops sending once
 *  the response arrives (the connection may then break under the rest of the body: that is
 *  not an error here). */
export function timed(url, { method = 'GET', headers = {}, upload = 0 } = {}) {
  const { hostname, port } = new URL(url);
  const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  const started = Date.now();
  const all = upload > 0 ? { ...headers, 'content-length': String(upload) } : headers;
  return new Promise((resolve, reject) => {
    let answered = false;
    // (No pooled connection: a fault may leave one unusable for the next exchange.)
    const req = request({ hostname, port, path: target, method, headers: all, agent: false }, (res) => {
      answered = true;
      const headersMs = Date.now() - started;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', () => {});
      res.on('close', () => {
        req.destroy();
        resolve({
          status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete,
          headersMs, doneMs: Date.now() - started,
        });
      });
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    if (upload === 0) { req.end(); return; }
    const piece = Buffer.alloc(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (!answered && !req.destroyed && sent < upload) {
        const n = Math.min(piece.length, upload - sent);
        sent += n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) { req.once('drain', pump); return; }
      }
      if (sent >= upload) req.end();
    };
    pump();
  });
}

/** A raw TCP origin for fault tests, on a free port: reads each request's head, counts it in
 *  `hits` by path, stops reading, and hands the socket to `behaviours[path]`, which writes
 *  whatever bytes (or nothing) it likes. Unknown paths get a 404; `/healthz` a 200. */
export async function rawOrigin(behaviours) {
  const hits = {};
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const path = head.split(' ')[1].split('?')[0];
      hits[path] = (hits[path] ?? 0) + 1;
      (behaviours[path] ?? (path === '/healthz' ? answerWith(200, 'ok') : answerWith(404, 'no such fault')))(socket);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    hits,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A raw origin behaviour: a complete `status` response with a text body, then close. */
export const answerWith = (status, text) => (socket) => socket.end(
  `HTTP/1.1 ${status} Test\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
);

/** The JSON log lines (`{"event":…}`) a tracked process wrote after offset `since` of its
 *  output that carry every field of `match`. (wrangler colours console.error lines, even with
 *  NO_COLOR: the escapes are dropped first.) */
export function events(proc, match, since = 0) {
  return proc.output().slice(since).replace(/\x1b\[[0-9;]*m/g, '').split('\n').flatMap((line) => {
    const at = line.indexOf('{"');
    if (at < 0) return [];
    let entry;
    try { entry = JSON.parse(line.slice(at)); } catch { return []; }
    return Object.entries(match).every(([k, v]) => entry[k] === v) ? [entry] : [];
  });
}

/** Waits up to `ms` for a log line as `events` finds it; resolves to the first one. */
export async function loggedEvent(proc, match, { since = 0, ms = 5000 } = {}) {
  try {
    const [found] = await eventually(() => events(proc, match, since)[0], ms);
    return found;
  } catch {
    throw new Error(`${proc.name} logged no ${JSON.stringify(match)} within ${ms} ms`);
  }
}
