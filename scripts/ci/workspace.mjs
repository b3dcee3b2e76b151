// The repository's components and the workspace crates each is built from, read from
// `cargo metadata`: the one description the pipelines' scripts, the coupling figure
// (scripts/coupling.mjs) and the independence tests (tests/ci/) share.
//
//   cargo metadata --format-version 1 --no-deps | node scripts/ci/workspace.mjs closure users
// prints `users` and every workspace crate its pipeline follows, one per line.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every component: a pipeline (`workflow`) deploys it alone, or it is a library that only
 * reaches production inside the components that depend on it. `packages` are its workspace
 * crates; `files` are paths outside a crate that belong to it.
 */
export const COMPONENTS = [
  { name: 'gateway', workflow: 'gateway.yml', packages: ['gateway'] },
  { name: 'routes', workflow: 'routes.yml', packages: ['gatewayctl'], files: ['routes.toml'] },
  { name: 'backend-users', workflow: 'backend-users.yml', packages: ['users'] },
  { name: 'backend-orders', workflow: 'backend-orders.yml', packages: ['orders'] },
  { name: 'backend-orders-v2', workflow: 'backend-orders-v2.yml', packages: ['orders-v2'] },
  { name: 'backend-idp', workflow: 'backend-idp.yml', packages: ['idp'] },
  { name: 'contracts', library: true, packages: ['contracts'] },
  { name: 'backend-kit', library: true, packages: ['backend-kit'] },
];

/**
 * Dependencies a pipeline deliberately does not follow, with the reason. `gatewayctl` is built
 * from the gateway crate to validate tables exactly as the worker does; a gateway change is
 * checked against the current `routes.toml` by the gateway's own tests (tests/routes_toml.rs),
 * so it does not republish the table.
 */
export const NOT_FOLLOWED = [{ from: 'gatewayctl', to: 'gateway' }];

/** `cargo metadata` as an object (`noDeps`: workspace crates only, no resolve graph). */
export function cargoMetadata({ noDeps = true, cwd = process.cwd() } = {}) {
  const args = ['metadata', '--format-version', '1', '--offline'];
  if (noDeps) args.push('--no-deps');
  return JSON.parse(execFileSync('cargo', args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** The workspace crates: name → { dir (relative to the root), deps: [{ name, kind, path }] }. */
export function workspaceCrates(metadata) {
  const root = metadata.workspace_root;
  const members = new Set(metadata.workspace_members);
  const crates = new Map();
  for (const p of metadata.packages.filter((p) => members.has(p.id))) {
    const dir = path.relative(root, path.dirname(p.manifest_path)) || '.';
    const deps = p.dependencies.map((d) => ({ name: d.name, kind: d.kind ?? 'normal', local: Boolean(d.path) }));
    crates.set(p.name, { dir, deps });
  }
  return crates;
}

/**
 * `name` and the workspace crates it depends on: all of its own dependencies (normal, dev,
 * build), then the normal and build dependencies of those, transitively — what cargo compiles
 * for `cargo test -p name`; with `pipeline`, minus the NOT_FOLLOWED ones: what its pipeline
 * runs on and tests.
 */
export function closure(crates, name, { pipeline = false } = {}) {
  const seen = new Set([name]);
  const queue = [[name, true]];
  while (queue.length) {
    const [from, top] = queue.shift();
    for (const dep of crates.get(from)?.deps ?? []) {
      if (!crates.has(dep.name) || seen.has(dep.name)) continue;
      if (!top && dep.kind === 'dev') continue;
      if (pipeline && NOT_FOLLOWED.some((n) => n.from === from && n.to === dep.name)) continue;
      seen.add(dep.name);
      queue.push([dep.name, false]);
    }
  }
  return [...seen];
}

/** The component a workspace crate belongs to. */
export function componentOf(crateName) {
  return COMPONENTS.find((c) => c.packages.includes(crateName))?.name;
}

/** The repository root (where this script's `scripts/ci/` lives). */
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** The npm packages of package.json (dependencies and devDependencies). */
export function npmPackages(root = ROOT) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [verb, name] = process.argv.slice(2);
  const usage = () => {
    console.error('usage: cargo metadata --format-version 1 --no-deps | node scripts/ci/workspace.mjs closure CRATE');
    process.exit(2);
  };
  if (!name) usage();
  const metadata = JSON.parse(readFileSync(0, 'utf8'));
  const crates = workspaceCrates(metadata);
  if (!crates.has(name)) {
    console.error(`no workspace crate named ${name}`);
    process.exit(1);
  }
  if (verb !== 'closure') usage();
  console.log(closure(crates, name, { pipeline: true }).join('\n'));
}
