// `npm run dev` as a user runs it: the repository's routes.toml served on a port, the sample
// backends behind it, and Ctrl-C stopping everything it started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { ROOT, freePort, portInUse } from '../../scripts/lib/stack.mjs';
import { eventually } from './support.mjs';

const BACKEND_PORTS = [9101, 9102, 9103, 9104]; // routes.toml's local origins and the identity provider

test('npm run dev serves routes.toml and Ctrl-C stops everything', { timeout: 180_000 }, async (t) => {
  const busy = [];
  for (const p of BACKEND_PORTS) if (await portInUse(p)) busy.push(p);
  if (busy.length) {
    t.skip(`ports ${busy.join(', ')} are in use (a running npm run dev?)`);
    return;
  }
  const port = await freePort();
  const dev = spawn(path.join(ROOT, 'node_modules/.bin/node'), ['scripts/dev.mjs'], {
    cwd: ROOT,
    env: { ...process.env, GATEWAY_PORT: String(port), PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  dev.stdout.on('data', (d) => { output += d; });
  dev.stderr.on('data', (d) => { output += d; });
  try {
    await eventually(() => output.includes('[dev] stack: running') || dev.exitCode !== null, 150_000, 200);
    assert.match(output, new RegExp(`gateway on http://localhost:${port}`));
    assert.equal(dev.exitCode, null, output);
    assert.match(output, /Live routes:/);
    assert.match(output, /users-get/);
    assert.match(output, new RegExp(`Console: http://localhost:${port}/__gateway/ .* admin token \\S+ `));

    const anonymous = await fetch(`http://127.0.0.1:${port}/api/users/1`);
    assert.equal(anonymous.status, 401, 'routes.toml protects users-get with its jwt policy');
    const { access_token: token } = await (await fetch('http://127.0.0.1:9103/token', { method: 'POST', body: '{"sub":"dev"}' })).json();
    const user = await fetch(`http://127.0.0.1:${port}/api/users/1`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(user.status, 200);
    assert.match(user.headers.get('x-gateway-route-version'), /^\d{8}T\d{9}Z-[0-9a-f]{8}$/);
    assert.equal((await user.json()).name, 'Ada Lovelace');
    const orders = await (await fetch(`http://127.0.0.1:${port}/api/users/2/orders`)).json();
    assert.deepEqual(orders.map((o) => o.user_id), [2]);
  } finally {
    dev.kill('SIGINT');
    const [code] = await once(dev, 'exit');
    assert.equal(code, 0, output);
  }
  for (const p of [port, ...BACKEND_PORTS]) {
    await eventually(async () => !(await portInUse(p)), 10_000, 100);
  }
});
