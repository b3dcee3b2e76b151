// Helpers shared by the benchmark (run.mjs) and the soak (soak.mjs): generated route tables
// and their compiled documents, wrk runs and their figures, medians, and the resident memory
// of a workerd process.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { ROOT, run } from '../scripts/lib/stack.mjs';

const exec = promisify(execFile);
/** The route table CLI, built by `cargo build -p gatewayctl`. */
export const GATEWAYCTL = path.join(ROOT, 'target/debug/gatewayctl');

/** A route table of `n` routes: the measured `/api/users/{id}` among n-1 others. With a policy
 *  set (see run.mjs), it and `/echo/{*rest}` (which shows what reached the origin) run that
 *  set. */
export function routesToml(n, originPort, policies = null) {
  const withPolicies = policies ? policies.route : '';
  let t = `[upstreams.users]\ntimeout_ms = 5000\n[upstreams.users.env.local]\norigins = ["http://127.0.0.1:${originPort}"]\n\n`;
  if (policies) t += policies.toml;
  t += `[[routes]]\nid = "users-get"\nmethods = ["GET"]\npath = "/api/users/{id}"\nupstream = "users"\nrewrite = { strip_prefix = "/api" }\n${withPolicies}\n`;
  // The streaming routes answer only after the whole body: give them time for 256 MiB.
  t += `[[routes]]\nid = "echo"\npath = "/echo/{*rest}"\nupstream = "users"\ntimeout_ms = 60000\n${withPolicies}\n`;
  t += '[[routes]]\nid = "download"\nmethods = ["GET"]\npath = "/_test/download"\nupstream = "users"\ntimeout_ms = 60000\n\n';
  for (let i = 3; i < n; i++) {
    t += `[[routes]]\nid = "svc${i}"\nmethods = ["GET", "POST"]\npath = "/svc${i}/items/{id}"\nupstream = "users"\nrewrite = { template = "/items/{id}" }\n\n`;
  }
  return t;
}

/** Compiles the route table `file` for the `local` environment: the document's JSON text
 *  (as published to KV) and its version. */
export async function compileRoutes(file) {
  const { stdout } = await run(GATEWAYCTL, ['compile', file, '--env', 'local']);
  const text = stdout.trim();
  return { text, version: JSON.parse(text).version };
}

/** The value after `--name` on the command line, or `fallback`. */
export const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

const unit = { us: 1e-3, ms: 1, s: 1000, m: 60000 };
const ms = (v) => { const m = /^([\d.]+)(us|ms|s|m)$/.exec(v ?? ''); return m ? Number(m[1]) * unit[m[2]] : null; };

/** One `wrk -t1 --latency` run: requests, req/s, p50, p99 (ms), non-2xx, socket errors. */
export async function wrk(url, { duration, connections, headers = {} }) {
  const h = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const { stdout } = await exec('wrk', ['-t1', `-c${connections}`, `-d${duration}`, '--latency', ...h, url], { maxBuffer: 1 << 20 });
  const grab = (re) => (re.exec(stdout) || [])[1];
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requests: Number(grab(/(\d+) requests in/)),
    rps: Number(grab(/Requests\/sec:\s+([\d.]+)/)),
    p50: ms(grab(/50%\s+(\S+)/)),
    p99: ms(grab(/99%\s+(\S+)/)),
    non2xx: Number(grab(/Non-2xx or 3xx responses: (\d+)/) || 0),
    errors: errors ? errors.slice(1).reduce((s, x) => s + Number(x), 0) : 0,
  };
}

/** The median of the finite numbers in `values`, or null. */
export const median = (values) => {
  const s = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Resident memory of process `pid` (VmRSS), in KiB. */
export async function rssKb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}
