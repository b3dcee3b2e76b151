// The coupling figure (scripts/coupling.mjs): what counts as a dependency and as a crossing.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { coupling, MAX } from '../../scripts/coupling.mjs';
import { ROOT, cargoMetadata, npmPackages, workspaceCrates } from '../../scripts/ci/workspace.mjs';

const crate = (...deps) => ({ dir: '.', deps: deps.map((name) => ({ name, kind: 'normal' })) });

test('a dependency crosses when both ends are workspace crates of different components', () => {
  const crates = new Map([
    ['users', crate('backend-kit', 'axum', 'gateway')],
    ['backend-kit', crate('axum', 'contracts')],
    ['contracts', crate('serde')],
    ['gateway', crate()],
  ]);
  const figure = coupling(crates, ['wrangler']);
  // users→backend-kit, users→gateway, backend-kit→contracts cross; the three external
  // crates and the npm package do not.
  assert.deepEqual([figure.cross, figure.total], [3, 7]);
  assert.deepEqual(figure.crossing, [
    'users (backend-users) → backend-kit (backend-kit)',
    'users (backend-users) → gateway (gateway)',
    'backend-kit (backend-kit) → contracts (contracts)',
  ]);
});

test('a crate listed twice (normal and dev) is one dependency', () => {
  const crates = new Map([['users', { dir: '.', deps: [{ name: 'backend-kit', kind: 'normal' }, { name: 'backend-kit', kind: 'dev' }] }], ['backend-kit', crate()]]);
  assert.deepEqual([coupling(crates, []).cross, coupling(crates, []).total], [1, 1]);
});

test(`the repository stays below ${MAX}`, () => {
  const figure = coupling(workspaceCrates(cargoMetadata({ cwd: ROOT })), npmPackages());
  assert.ok(figure.ratio < MAX, `${figure.cross} / ${figure.total}`);
});
