// Helpers for the end-to-end tests: fixtures, raw HTTP, the sample backends' byte pattern.
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
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
