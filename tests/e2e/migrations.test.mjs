// D1 migrations apply locally, every one has a down script that reverses it, and it can be
// applied again afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, applyMigrations, wrangler } from '../../scripts/lib/stack.mjs';
import { tempDir } from './support.mjs';

let dir;
after(() => dir && rm(dir, { recursive: true, force: true }));

async function tables() {
  const { stdout } = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--json',
    '--command', "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name"]);
  return JSON.parse(stdout)[0].results.map((r) => r.name);
}

test('every migration has a down script that reverses it', { timeout: 120_000 }, async () => {
  dir = await tempDir('d1');
  const ups = (await readdir(path.join(ROOT, 'migrations'))).filter((f) => f.endsWith('.sql')).sort();
  const downs = (await readdir(path.join(ROOT, 'migrations/down'))).sort();
  assert.deepEqual(downs, ups, 'one down script per migration, same name');

  await applyMigrations(dir);
  const applied = await tables();
  for (const t of ['health_snapshots', 'route_activations', 'route_versions']) assert.ok(applied.includes(t), t);

  for (const down of [...downs].reverse()) {
    await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--file', `migrations/down/${down}`]);
  }
  assert.deepEqual(await tables(), ['d1_migrations']);

  await applyMigrations(dir);
  assert.deepEqual(await tables(), applied);
});
