// The development loop's reloads (`npm run dev`): routes.toml checked and published to local KV
// when saved, a backend rebuilt and restarted alone when its sources change, a new D1
// migration applied when it appears, and the worker's rebuilds (wrangler dev's own watcher,
// wrangler.toml `[build]`) reported. Each state change is one line: `[dev] <part>: <state>`.
import { readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { ROOT, applyMigrations, publishLocal, run, startBackend } from './stack.mjs';

/** Prints a state change of one part of the stack, on one line. */
export const state = (part, what) => console.log(`[dev] ${part}: ${what}`);
const since = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** `task` run once changes settle for `ms`, one run at a time; changes during a run make
 *  one more run after it. */
function settled(task, ms) {
  let timer = null;
  let running = false;
  let again = false;
  const go = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await task();
    } catch (e) {
      console.error(`[dev] ${e.message}`);
    }
    running = false;
    if (again) {
      again = false;
      go();
    }
  };
  return () => {
    clearTimeout(timer);
    timer = setTimeout(go, ms);
  };
}

/** The output of a failed command, without the command line `run` puts first. */
const failure = (e) => (e.stderr || e.stdout ? `${e.stdout ?? ''}${e.stderr ?? ''}` : e.message).trimEnd();

/** Publishes `file` (checked as `gatewayctl check` does) to local KV whenever it is saved;
 *  an invalid file is refused with every problem and the last good table keeps serving.
 *  `env`: for gatewayctl (the local store's, scripts/lib/local-store.mjs). */
export function watchRoutes(file, env) {
  const abs = path.resolve(ROOT, file);
  const publish = settled(async () => {
    const t0 = Date.now();
    state('routes', `${file} saved: checking and publishing`);
    try {
      const { version, log } = await publishLocal(abs, undefined, { env });
      if (log.trim()) console.log(log.trimEnd());
      state('routes', `running ${version} (published in ${since(t0)})`);
    } catch (e) {
      console.log(failure(e));
      state('routes', `refused after ${since(t0)}: the last good table keeps serving`);
    }
  }, 100);
  // Editors often save by renaming a new file over the old: watch the directory.
  return watch(path.dirname(abs), (_, name) => {
    if (name === path.basename(abs)) publish();
  });
}

/** Reports a backend that exits while nobody restarts it. */
function supervise(backend) {
  const { proc } = backend;
  proc.exited.then(([code, signal]) => {
    if (backend.proc === proc && !backend.restarting) {
      state(backend.name, `crashed (exit ${code ?? signal}): save one of its files to rebuild and restart it`);
    }
  });
}

/** Rebuilds one backend; if that works, replaces the running process. A failed build
 *  prints the compiler's errors once and leaves the running backend alone. */
async function restart(backend) {
  const t0 = Date.now();
  state(backend.name, 'rebuilding');
  try {
    await run('cargo', ['build', '--quiet', '-p', backend.name]);
  } catch (e) {
    console.log(failure(e));
    state(backend.name, `build failed after ${since(t0)}: the running one keeps serving`);
    return;
  }
  state(backend.name, 'restarting');
  backend.restarting = true;
  try {
    await backend.proc.stop();
    backend.proc = await startBackend(backend.name, backend.port, { echo: true });
  } finally {
    backend.restarting = false;
  }
  supervise(backend);
  state(backend.name, `running (rebuilt and restarted in ${since(t0)})`);
}

/** The directories under `backends/` whose sources go into backend `name`: its own and, from
 *  each Cargo.toml, every `path = "../DIR"` dependency, transitively (`kit` for all of them;
 *  `orders` for `orders-v2`). Read at each change, so an added dependency counts at once. */
function sourceDirs(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  let manifest = '';
  try {
    manifest = readFileSync(path.join(ROOT, 'backends', name, 'Cargo.toml'), 'utf8');
  } catch {
    return seen;
  }
  for (const [, dir] of manifest.matchAll(/path\s*=\s*"\.\.\/([^"/]+)"/g)) sourceDirs(dir, seen);
  return seen;
}

/** Watches `backends/`: a change under a backend's `src/` or its Cargo.toml restarts that
 *  backend alone; one in a crate it depends on (`backends/kit`, shared by all; `orders`, which
 *  `orders-v2` runs) restarts each backend built from it. `backends`: `{name, port, proc}` as
 *  started. */
export function watchBackends(backends) {
  const restarts = new Map(backends.map((b) => [b.name, settled(() => restart(b), 300)]));
  for (const b of backends) supervise(b);
  return watch(path.join(ROOT, 'backends'), { recursive: true }, (_, name) => {
    const [dir, entry] = (name ?? '').split(path.sep);
    if (entry !== 'src' && entry !== 'Cargo.toml') return;
    for (const b of backends) if (sourceDirs(b.name).has(dir)) restarts.get(b.name)();
  });
}

/** Applies migrations to the local D1 when a new one appears in `migrations/`. */
export function watchMigrations() {
  const apply = settled(async () => {
    const t0 = Date.now();
    state('d1', 'migrations changed: applying');
    try {
      await applyMigrations(undefined);
      state('d1', `migrations applied (${since(t0)})`);
    } catch (e) {
      console.log(failure(e));
      state('d1', `migration failed after ${since(t0)}: the database is as it was before it`);
    }
  }, 300);
  return watch(path.join(ROOT, 'migrations'), (_, name) => {
    if (name?.endsWith('.sql')) apply();
  });
}

/** What wrangler dev's output says about the worker, as state lines: it rebuilds on changes
 *  under wrangler.toml's `watch_dir`; a failed build (scripts/build-worker.sh says so and
 *  exits 0 under `KEEP_LAST_GOOD`) is followed by a reload of the last good worker. */
const WORKER_STATES = [
  [/changed, restarting build|\[custom build\] Running:/, 'rebuilding', () => 'rebuilding'],
  [/worker build failed/, 'failed', (t0) => `build failed after ${since(t0)}: the last good worker keeps serving`],
  [/Local server updated and ready/, 'running', (t0) => `running (rebuilt in ${since(t0)})`],
];

/** Reports the worker's rebuilds from the gateway process's output. */
export function followWorker(gateway) {
  let t0 = Date.now();
  let last = 'running';
  const seen = (chunk) => {
    for (const line of String(chunk).split('\n')) {
      for (const [pattern, kind, describe] of WORKER_STATES) {
        // After a failed build wrangler reloads the unchanged worker: still failed.
        if (!pattern.test(line) || kind === last || (kind === 'running' && last === 'failed')) continue;
        if (kind === 'rebuilding') t0 = Date.now();
        state('worker', describe(t0));
        last = kind;
      }
    }
  };
  gateway.child.stdout.on('data', seen);
  gateway.child.stderr.on('data', seen);
}
