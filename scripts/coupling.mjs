// The coupling figure: cross-component dependencies / all dependencies, over the direct
// dependencies of every workspace crate (`cargo metadata`) and of the npm package
// (package.json). A dependency is one (dependent, dependency) pair, whatever its kind (normal,
// dev, build, target-specific); it crosses components when both ends are workspace crates of
// different components (scripts/ci/workspace.mjs: the gateway, the route table, each backend,
// and the shared libraries `contracts` and `backend-kit`). External crates and npm packages
// never cross. Prints the figure (and, with --list, every crossing); exits 1 at MAX (0.3) or
// above.
//
//   node scripts/coupling.mjs [--list | --json]

import { cargoMetadata, componentOf, npmPackages, workspaceCrates } from './ci/workspace.mjs';

export const MAX = 0.3;

/** The figure from the workspace crates (workspaceCrates) and the npm package names. */
export function coupling(crates, npm) {
  const edges = [];
  for (const [name, crate] of crates) {
    const seen = new Set();
    for (const dep of crate.deps) {
      if (seen.has(dep.name)) continue;
      seen.add(dep.name);
      const local = crates.has(dep.name);
      const from = componentOf(name);
      const to = local ? componentOf(dep.name) : undefined;
      edges.push({ from: name, to: dep.name, cross: local && from !== to, components: [from, to] });
    }
  }
  for (const pkg of npm) edges.push({ from: 'package.json', to: pkg, cross: false });
  const crossing = edges.filter((e) => e.cross);
  return {
    cross: crossing.length,
    total: edges.length,
    ratio: edges.length ? crossing.length / edges.length : 0,
    crossing: crossing.map((e) => `${e.from} (${e.components[0]}) → ${e.to} (${e.components[1]})`),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const crates = workspaceCrates(cargoMetadata());
  const unknown = [...crates.keys()].filter((name) => !componentOf(name));
  if (unknown.length) {
    console.error(`workspace crates in no component (add them to scripts/ci/workspace.mjs): ${unknown.join(', ')}`);
    process.exit(1);
  }
  const figure = coupling(crates, npmPackages());
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ ...figure, max: MAX }, null, 2));
  } else {
    console.log(
      `coupling: ${figure.cross} cross-component / ${figure.total} dependencies = ${figure.ratio.toFixed(3)} (must stay < ${MAX})`,
    );
    if (process.argv.includes('--list') || figure.ratio >= MAX) {
      for (const line of figure.crossing) console.log(`  ${line}`);
    }
  }
  if (figure.ratio >= MAX) {
    console.error(`coupling ${figure.ratio.toFixed(3)} is at or above ${MAX}`);
    process.exit(1);
  }
}
