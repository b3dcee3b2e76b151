// The live deploy, verify and rollback stages (DRY_RUN=0) against stand-ins for wrangler,
// gatewayctl, docker and curl (fake-tool.mjs): what each stage decides from what production
// says, and the commands it runs, in order. Pauses are skipped (CI_PAUSE=0).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import { ROOT } from '../../scripts/ci/workspace.mjs';

const SHA = 'abc123def4567890abc123def4567890abc12345';

/** Runs scripts/ci/SCRIPT ARGS live with every tool faked by `plan`; `state` seeds CI_STATE_DIR. */
async function run(script, args, { plan = [], state = {}, env = {} } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-stage-'));
  const fake = path.join(dir, 'fake');
  writeFileSync(fake, `#!/bin/sh\nexec node ${JSON.stringify(path.join(ROOT, 'tests/ci/fake-tool.mjs'))} "$@"\n`);
  chmodSync(fake, 0o755);
  writeFileSync(path.join(dir, 'plan.json'), JSON.stringify(plan));
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir);
  for (const [file, text] of Object.entries(state)) writeFileSync(path.join(stateDir, file), text);
  const log = path.join(dir, 'calls.log');
  writeFileSync(log, '');
  const child = spawn('bash', [path.join('scripts/ci', script), ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      DRY_RUN: '0',
      CI_PAUSE: '0',
      CI_STATE_DIR: stateDir,
      GITHUB_SHA: SHA,
      GITHUB_ACTOR: 'tester',
      FAKE_PLAN: path.join(dir, 'plan.json'),
      FAKE_LOG: log,
      WRANGLER: fake,
      GATEWAYCTL: fake,
      DOCKER: fake,
      CURL: fake,
      CLOUDFLARE_API_TOKEN: 'token',
      CLOUDFLARE_ACCOUNT_ID: 'account',
      ...env,
    },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).join(' '));
  const saved = (file) => {
    try {
      return readFileSync(path.join(stateDir, file), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  return { code, out: output, calls, saved };
}

/** The calls that contain `word` (or, for a bare verb, start with it). */
const only = (calls, word) => calls.filter((c) => (/^[a-z]+$/.test(word) ? c.split(' ')[0] === word : c.includes(word)));

describe('routes', { concurrency: true }, () => {
  const status = (active, canary) => ({
    stdout: [
      'environment: production',
      `active in KV: ${active ?? 'none'}`,
      `active in D1: ${active ?? 'none'}`,
      ...(canary ? [`canary: ${canary} on 10% of requests (sticky ip); steps 10%, 50%, 100% every 10m`, '  started …'] : []),
      'in agreement',
      '',
    ].join('\n'),
  });
  const changed = { when: 'diff', stdout: 'routes:\n  ~ route users-echo\nrequests that would be served differently: 1 of 7\n' };
  const same = { when: 'diff', stdout: 'routes: no changes\nrequests that would be served differently: 0 of 7\n' };

  test('deploy: a changed table starts a canary beside the active version', async () => {
    const r = await run('routes.sh', ['deploy'], { plan: [{ when: 'status', ...status('P') }, changed, { when: 'publish', stdout: 'C\n' }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(only(r.calls, 'publish'), [
      `publish routes.toml --env production --canary 10 --steps 10,50,100 --interval 10m --author ci:tester --note ${SHA}`,
    ]);
    assert.equal(r.saved('previous'), 'P');
    assert.equal(r.saved('candidate'), 'C');
  });

  test('deploy: an unchanged table publishes nothing', async () => {
    const r = await run('routes.sh', ['deploy'], { plan: [{ when: 'status', ...status('P') }, same] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(only(r.calls, 'publish'), []);
    assert.equal(r.saved('candidate'), 'none');
  });

  test('deploy: refused while a canary runs', async () => {
    const r = await run('routes.sh', ['deploy'], { plan: [{ when: 'status', ...status('P', 'X') }, changed] });
    assert.equal(r.code, 1);
    assert.deepEqual(only(r.calls, 'publish'), []);
  });

  test('deploy: the first version is published plainly', async () => {
    const r = await run('routes.sh', ['deploy'], { plan: [{ when: 'status', ...status(null) }, { when: 'publish', stdout: 'C\n' }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(only(r.calls, 'publish'), [`publish routes.toml --env production --author ci:tester --note ${SHA}`]);
  });

  const released = { previous: 'P\n', candidate: 'C\n' };
  test('verify: waits while the canary runs, passes once it is promoted', async () => {
    const r = await run('routes.sh', ['verify'], {
      state: released,
      plan: [{ when: 'status', then: [status('P', 'C'), status('P', 'C'), status('C')] }],
    });
    assert.equal(r.code, 0, r.out);
    assert.equal(only(r.calls, 'status').length, 3);
  });

  test('verify: fails when the judge aborted the canary', async () => {
    const r = await run('routes.sh', ['verify'], { state: released, plan: [{ when: 'status', ...status('P') }] });
    assert.equal(r.code, 1);
    assert.match(r.out, /was aborted/);
  });

  test('verify: fails when the canary is not promoted in time', async () => {
    const r = await run('routes.sh', ['verify'], {
      state: released,
      env: { VERIFY_TIMEOUT_S: '60' },
      plan: [{ when: 'status', ...status('P', 'C') }],
    });
    assert.equal(r.code, 1);
    assert.equal(only(r.calls, 'status').length, 3);
  });

  test('verify: then the gateway serves the new version three times in a row', async () => {
    const routes = (v) => ({ stdout: JSON.stringify({ serving_version: v }) });
    const r = await run('routes.sh', ['verify'], {
      state: released,
      env: { GATEWAY_URL: 'https://api.example.com', ADMIN_TOKEN: 'secret' },
      plan: [{ when: 'status', ...status('C') }, { when: '__gateway/routes', then: [routes('P'), routes('C')] }],
    });
    assert.equal(r.code, 0, r.out);
    assert.equal(only(r.calls, '__gateway/routes').length, 4);
  });

  test('verify: nothing released, nothing to wait for', async () => {
    const r = await run('routes.sh', ['verify'], { state: { candidate: 'none\n' } });
    assert.equal(r.code, 0);
    assert.deepEqual(r.calls, []);
  });

  test('rollback: a canary still running is aborted', async () => {
    const r = await run('routes.sh', ['rollback'], { state: released, plan: [{ when: 'status', ...status('P', 'C') }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(only(r.calls, 'abort').map((c) => c.split(' --author')[0]), ['abort --env production']);
    assert.deepEqual(only(r.calls, 'rollback'), []);
  });

  test('rollback: a promoted candidate is rolled back to the recorded version', async () => {
    const r = await run('routes.sh', ['rollback'], { state: released, plan: [{ when: 'status', ...status('C') }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(only(r.calls, 'rollback').map((c) => c.split(' --author')[0]), ['rollback --env production --to P']);
  });

  test('rollback: nothing when the judge aborted it already', async () => {
    const r = await run('routes.sh', ['rollback'], { state: released, plan: [{ when: 'status', ...status('P') }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.calls, ['status --env production']);
  });
});

describe('backend', { concurrency: true }, () => {
  const env = { IMAGE: 'ghcr.io/acme/gw/users:abc', DOCKER_HOST: 'ssh://deploy@origin' };
  const suffix = SHA.slice(0, 12);
  const ps = { when: 'ps --filter', stdout: '2026-11-01 10:00:00 +0000 UTC\tusers-old\n2026-11-01 10:00:01 +0000 UTC\tusers-old-tunnel\n' };
  const exited = { when: 'ps -a', stdout: 'users-older\nusers-old\nusers-old-tunnel\n' };
  const verbs = (calls) => calls.map((c) => c.split(' ').slice(0, 2).join(' '));

  test('deploy: the new pair is ready before the old connector, then the old origin, stop', async () => {
    const r = await run('backend.sh', ['users', 'deploy'], { env, plan: [exited, ps] });
    assert.equal(r.code, 0, r.out);
    const order = r.calls.filter((c) => !c.startsWith('ps') && !c.startsWith('rm -f'));
    assert.deepEqual(verbs(order), ['run -d', 'run -d', 'run --rm', 'run --rm', 'stop --time', 'stop --time', 'rm users-older']);
    assert.match(order[0], new RegExp(`--name users-${suffix} .* -e PORT=9101 ghcr.io/acme/gw/users:abc$`));
    assert.match(order[1], new RegExp(`--name users-${suffix}-tunnel .*--network container:users-${suffix} .* run --cred-file /etc/cloudflared/users.json users$`));
    assert.match(order[2], /healthz$/);
    assert.match(order[3], /127\.0\.0\.1:2000\/ready$/);
    assert.equal(order[4], 'stop --time 35 users-old-tunnel');
    assert.equal(order[5], 'stop --time 30 users-old');
    assert.equal(r.saved('previous'), 'users-old\nusers-old-tunnel');
    assert.equal(r.saved('deployed'), `users-${suffix}`);
  });

  test('deploy: an origin that never gets healthy leaves the old pair serving', async () => {
    const r = await run('backend.sh', ['users', 'deploy'], { env, plan: [exited, ps, { when: 'healthz', exit: 7 }] });
    assert.equal(r.code, 1);
    assert.deepEqual(only(r.calls, 'stop'), []);
    assert.match(r.out, /not healthy/);
  });

  test('rollback: the previous pair starts and is ready before the new pair stops', async () => {
    const r = await run('backend.sh', ['users', 'rollback'], {
      env,
      state: { previous: 'users-old\nusers-old-tunnel\n', deployed: `users-${suffix}\n` },
    });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.calls.map((c) => c.replace(/ -fsS.*?(http\S+)$/, ' $1')), [
      'start users-old users-old-tunnel',
      'run --rm --network container:users-old curlimages/curl:8.11.1 http://127.0.0.1:9101/healthz',
      'run --rm --network container:users-old curlimages/curl:8.11.1 http://127.0.0.1:2000/ready',
      `stop --time 35 users-${suffix}-tunnel`,
      `stop --time 30 users-${suffix}`,
    ]);
  });

  const health = (body) => ({ when: 'healthz', stdout: JSON.stringify(body) });
  test('verify: five healthy answers from users at its API version, through the tunnel hostname', async () => {
    const r = await run('backend.sh', ['users', 'verify'], {
      env: { CF_ACCESS_CLIENT_ID: 'id', CF_ACCESS_CLIENT_SECRET: 'secret' },
      plan: [health({ status: 'healthy', service: 'users', version: '1.0.0' })],
    });
    assert.equal(r.code, 0, r.out);
    assert.equal(r.calls.length, 5);
    assert.match(r.calls[0], /-H cf-access-client-id: id -H cf-access-client-secret: secret https:\/\/users\.tunnel\.example\.com\/healthz$/);
  });

  test('verify: another service answering fails', async () => {
    const r = await run('backend.sh', ['users', 'verify'], { plan: [health({ status: 'healthy', service: 'orders' })] });
    assert.equal(r.code, 1);
  });

  test('verify: the identity provider needs TUNNEL_HOSTNAME', async () => {
    const r = await run('backend.sh', ['idp', 'verify']);
    assert.equal(r.code, 1);
    assert.match(r.out, /set TUNNEL_HOSTNAME/);
  });
});

describe('gateway', { concurrency: true }, () => {
  const deployment = (id) => ({ stdout: JSON.stringify({ versions: [{ version_id: id, percentage: 100 }] }) });

  test('deploy: records the version serving before, applies migrations, then deploys', async () => {
    const r = await run('gateway.sh', ['deploy'], { plan: [{ when: 'deployments status', then: [deployment('v1'), deployment('v2')] }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.calls, [
      'deployments status --env production --json',
      'd1 migrations apply DB --env production --remote',
      `deploy --env production --message ${SHA}`,
      'deployments status --env production --json',
    ]);
    assert.equal(r.saved('previous'), 'v1');
    assert.equal(r.saved('deployed'), 'v2');
  });

  const env = { GATEWAY_URL: 'https://api.example.com', ADMIN_TOKEN: 'secret' };
  const healthy = {
    when: '__gateway/health',
    files: { '-D': 'HTTP/2 200\r\nx-request-id: 1\r\n\r\n' },
    stdout: JSON.stringify({ status: 'healthy', route_version: 'r1', origins: [] }),
  };
  test('verify: the new version alone serves, and three health requests in a row pass', async () => {
    const r = await run('gateway.sh', ['verify'], { env, state: { deployed: 'v2\n' }, plan: [{ when: 'deployments status', ...deployment('v2') }, healthy] });
    assert.equal(r.code, 0, r.out);
    assert.equal(only(r.calls, '__gateway/health').length, 3);
  });

  test('verify: a health report without a route table fails', async () => {
    const r = await run('gateway.sh', ['verify'], {
      env,
      state: { deployed: 'v2\n' },
      plan: [{ when: 'deployments status', ...deployment('v2') }, { ...healthy, stdout: '{"error":"no table"}' }],
    });
    assert.equal(r.code, 1);
  });

  test('rollback: to the recorded version when another one serves', async () => {
    const r = await run('gateway.sh', ['rollback'], { state: { previous: 'v1\n' }, plan: [{ when: 'deployments status', ...deployment('v2') }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(only(r.calls, 'rollback'), [`rollback v1 --env production -y --message verify failed for ${SHA}`]);
  });

  test('rollback: nothing when the recorded version still serves', async () => {
    const r = await run('gateway.sh', ['rollback'], { state: { previous: 'v1\n' }, plan: [{ when: 'deployments status', ...deployment('v1') }] });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(only(r.calls, 'rollback'), []);
  });
});
