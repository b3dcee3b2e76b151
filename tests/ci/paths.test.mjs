// The `paths` filter reader the pipeline tests rely on (paths.mjs), against GitHub's rules.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { included } from './paths.mjs';

const cases = [
  // patterns                                   file                         included
  [['src/**'], 'src/edge/mod.rs', true],
  [['src/**'], 'src', false],
  [['src/**'], 'tests/src/x.rs', false],
  [['scripts/ci/*.mjs'], 'scripts/ci/inspect.mjs', true],
  [['scripts/ci/*.mjs'], 'scripts/ci/sub/x.mjs', false],
  [['**/Dockerfile'], 'Dockerfile', true],
  [['**/Dockerfile'], 'backends/users/Dockerfile', true],
  [['Cargo.toml'], 'backends/users/Cargo.toml', false],
  [['tests/**', '!tests/ci/**'], 'tests/ci/paths.test.mjs', false],
  [['tests/**', '!tests/ci/**'], 'tests/e2e/gateway.test.mjs', true],
  [['scripts/**', '!scripts/ci/**', 'scripts/ci/gateway.sh'], 'scripts/ci/gateway.sh', true],
  [['scripts/**', '!scripts/ci/**', 'scripts/ci/gateway.sh'], 'scripts/ci/routes.sh', false],
  [['routes.?oml'], 'routes.toml', true],
  [['a.b'], 'axb', false],
];
for (const [patterns, file, want] of cases) {
  test(`${patterns.join(' ')} ${want ? 'includes' : 'excludes'} ${file}`, () => {
    assert.equal(included(patterns, file), want);
  });
}
