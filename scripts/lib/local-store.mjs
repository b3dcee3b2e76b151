#!/usr/bin/env node
// Fast local KV and D1 for the development loop. Each `wrangler kv …`/`wrangler d1 …` call
// starts a fresh local runtime (~1.7 s), and a publish makes five of them. `npm run dev` starts
// one long-lived store instead (`serve`: wrangler's getPlatformProxy, the same local state
// files that `wrangler dev` and `wrangler … --local` use) behind a loopback HTTP endpoint, and hands
// gatewayctl this file as its `WRANGLER`: run as a command, it answers the few wrangler
// subcommands gatewayctl uses, in wrangler's output formats, through that endpoint.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { track } from './stack.mjs';

/** This file: what to set `WRANGLER` to. */
export const WRANGLER_STAND_IN = fileURLToPath(import.meta.url);

/** The statements of an SQL text: split at `;` outside quoted strings and identifiers. */
export function statements(sql) {
  const out = [];
  let start = 0;
  let quote = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote !== null) {
      if (c === quote) quote = null; // a doubled quote closes and reopens: same result
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === ';') {
      out.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  out.push(sql.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

/** Operations on the bindings, by name: request JSON → response JSON. */
const OPERATIONS = {
  'kv-get': async ({ ROUTES }, { key }) => ({ value: await ROUTES.get(key) }),
  'kv-put': async ({ ROUTES }, { key, value, metadata }) => {
    await ROUTES.put(key, value, metadata === undefined ? {} : { metadata });
    return {};
  },
  'kv-list': async ({ ROUTES }, { prefix }) => {
    const keys = [];
    let cursor;
    do {
      const page = await ROUTES.list({ prefix, cursor });
      keys.push(...page.keys.map(({ name, metadata }) => (metadata === undefined ? { name } : { name, metadata })));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor !== undefined);
    return { keys };
  },
  'kv-delete': async ({ ROUTES }, { key }) => {
    await ROUTES.delete(key);
    return {};
  },
  d1: async ({ DB }, { sql }) => ({ results: await DB.batch(statements(sql).map((s) => DB.prepare(s))) }),
};

/** Serves the store on a free loopback port for the wrangler configuration in `root`, in
 *  this process; prints `LOCAL_STORE_URL=<url>` once ready. `persistTo`: the local state
 *  directory, as wrangler's `--persist-to` takes it (default: wrangler's own, .wrangler/state). */
async function serve(root, persistTo = path.join(root, '.wrangler/state')) {
  const { getPlatformProxy } = await import(path.join(root, 'node_modules/wrangler/wrangler-dist/cli.js'));
  const proxy = await getPlatformProxy({ configPath: path.join(root, 'wrangler.toml'), persist: { path: path.join(persistTo, 'v3') } });
  const server = createServer(async (req, res) => {
    try {
      const operation = OPERATIONS[req.url.slice(1)];
      if (operation === undefined) throw new Error(`no operation ${req.url}`);
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      res.end(JSON.stringify(await operation(proxy.env, JSON.parse(Buffer.concat(chunks).toString() || '{}'))));
    } catch (e) {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: String(e?.message ?? e) }));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  console.log(`LOCAL_STORE_URL=http://127.0.0.1:${server.address().port}`);
}

/** Starts the store as a child process of the stack (stopped with it); resolves to the
 *  environment that points gatewayctl at it: `{WRANGLER, LOCAL_STORE_URL}`. A child, not
 *  in-process: the local runtime behind the store ends its process on Ctrl-C at once, and
 *  the stack must stop what it started first. */
export async function startLocalStore(root, persistTo) {
  const child = spawn(process.execPath, [WRANGLER_STAND_IN, 'serve', ...(persistTo ? [persistTo] : [])], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = track(child, 'local-store', false);
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', () => {
      const found = /LOCAL_STORE_URL=(\S+)/.exec(proc.output());
      if (found) resolve(found[1]);
    });
    child.on('exit', () => reject(new Error(`the local store did not start:\n${proc.output()}`)));
  });
  return { WRANGLER: WRANGLER_STAND_IN, LOCAL_STORE_URL: url };
}

/** One operation on the store named by `LOCAL_STORE_URL`. */
async function call(operation, body) {
  const res = await fetch(`${process.env.LOCAL_STORE_URL}/${operation}`, { method: 'POST', body: JSON.stringify(body) });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.error);
  return answer;
}

/** `wrangler ARGS` as gatewayctl uses it, answered by the store; prints what wrangler prints. */
async function standIn(args) {
  const flag = (name) => {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? undefined : args[i + 1];
  };
  const [group, a, b, c, d] = args;
  if (flag('binding') !== undefined && flag('binding') !== 'ROUTES') throw new Error(`only the ROUTES binding: ${args.join(' ')}`);
  if (group === 'kv' && a === 'key' && b === 'get') {
    const { value } = await call('kv-get', { key: c });
    process.stdout.write(value ?? 'Value not found\n');
  } else if (group === 'kv' && a === 'key' && b === 'put') {
    const file = flag('path');
    const value = file === undefined ? d : await readFile(file, 'utf8');
    const metadata = flag('metadata') === undefined ? undefined : JSON.parse(flag('metadata'));
    await call('kv-put', { key: c, value, metadata });
  } else if (group === 'kv' && a === 'key' && b === 'list') {
    process.stdout.write(JSON.stringify((await call('kv-list', { prefix: flag('prefix') ?? '' })).keys));
  } else if (group === 'kv' && a === 'key' && b === 'delete') {
    await call('kv-delete', { key: c });
  } else if (group === 'd1' && a === 'execute' && flag('command') !== undefined) {
    process.stdout.write(JSON.stringify((await call('d1', { sql: flag('command') })).results));
  } else {
    throw new Error(`the local store does not answer \`wrangler ${args.join(' ')}\``);
  }
}

if (process.argv[1] === WRANGLER_STAND_IN) {
  const args = process.argv.slice(2);
  (args[0] === 'serve' ? serve(process.cwd(), args[1]) : standIn(args)).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
