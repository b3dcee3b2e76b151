// One pipeline per component: which workflows a change runs (their `paths` filters, parsed from
// .github/workflows), that every workspace crate a component is built from is in its filter
// and no other component's is (derived from `cargo metadata`), that `cargo test -p NAME`
// compiles no other deployable component, and that the backends' Dockerfiles and the tunnel
// configuration agree with the code and routes.toml.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

import { closure, COMPONENTS, NOT_FOLLOWED, ROOT, cargoMetadata, workspaceCrates } from '../../scripts/ci/workspace.mjs';
import { included, readWorkflows, triggerPaths, triggered } from './paths.mjs';

const workflows = readWorkflows(path.join(ROOT, '.github/workflows'));
const crates = workspaceCrates(cargoMetadata({ cwd: ROOT }));
const deployable = COMPONENTS.filter((c) => c.workflow);
const BACKENDS = ['users', 'orders', 'orders-v2', 'idp'];
const read = (file) => readFileSync(path.join(ROOT, file), 'utf8');

describe('which pipelines a change runs', () => {
  const all = deployable.map((c) => c.workflow).sort();
  const rust = all;
  const backends = BACKENDS.map((b) => `backend-${b}.yml`);
  const cases = [
    // changed files                                   → workflows that run
    [['backends/users/src/lib.rs'], ['backend-users.yml']],
    [['backends/users/tests/api.rs', 'backends/users/Cargo.toml'], ['backend-users.yml']],
    [['backends/users/Dockerfile'], ['backend-users.yml']],
    [['backends/idp/src/token.rs'], ['backend-idp.yml']],
    [['backends/orders-v2/src/lib.rs'], ['backend-orders-v2.yml']],
    // orders-v2 is built on the orders crate
    [['backends/orders/src/lib.rs'], ['backend-orders-v2.yml', 'backend-orders.yml']],
    [['backends/kit/src/health.rs'], backends],
    [['crates/contracts/src/health.rs'], rust],
    [['routes.toml'], ['routes.yml']],
    [['crates/gatewayctl/src/main.rs'], ['routes.yml']],
    [['src/lib.rs'], ['gateway.yml']],
    [['src/console/console.js', 'migrations/0002_next.sql'], ['gateway.yml']],
    [['tests/e2e/gateway.test.mjs'], ['gateway.yml']],
    [['wrangler.toml'], ['gateway.yml', 'routes.yml']],
    [['Cargo.lock'], rust],
    [['scripts/ci/backend.sh'], backends],
    [['.github/workflows/backend.yml'], backends],
    [['.github/workflows/backend-orders.yml'], ['backend-orders.yml']],
    [['scripts/ci/lib.sh'], all],
    [['README.md', 'docs/architecture.md', 'deploy/cloudflared/config.example.yml'], []],
    [['tests/ci/pipelines.test.mjs', 'CHANGELOG.md'], []],
  ];
  for (const [files, want] of cases) {
    test(`${files.join(', ')} → ${want.join(', ') || 'none'}`, () => {
      assert.deepEqual(triggered(workflows, files).sort(), [...want].sort());
    });
  }
});

describe('path filters follow the crate graph', () => {
  for (const component of deployable) {
    const workflow = workflows.get(component.workflow);
    test(`${component.workflow} exists, with the same filter on push and pull_request`, () => {
      assert.ok(workflow, `${component.workflow} is missing`);
      const { push, pullRequest } = triggerPaths(workflow);
      assert.ok(push?.length, 'on.push.paths is empty');
      assert.deepEqual(pullRequest, push);
    });
    const { push } = triggerPaths(workflow ?? {});
    const built = new Set(component.packages.flatMap((p) => closure(crates, p, { pipeline: true })));
    for (const [name, crate] of crates) {
      const source = path.posix.join(crate.dir === '.' ? '' : crate.dir, 'src/lib.rs');
      const follows = built.has(name);
      test(`${component.workflow} ${follows ? 'runs' : 'does not run'} on ${name} (${source})`, () => {
        assert.equal(included(push ?? [], source), follows);
      });
    }
    test(`${component.workflow} runs on its own file, and on every workflow it calls`, () => {
      const files = [`.github/workflows/${component.workflow}`];
      for (const job of Object.values(workflow?.jobs ?? {})) {
        if (typeof job.uses === 'string' && job.uses.startsWith('./')) files.push(job.uses.slice(2));
      }
      for (const file of files) assert.ok(included(push ?? [], file), file);
    });
  }

  test('every workspace crate belongs to a component', () => {
    const orphans = [...crates.keys()].filter((name) => !COMPONENTS.some((c) => c.packages.includes(name)));
    assert.deepEqual(orphans, []);
  });

  test('each dependency a pipeline does not follow is a real one', () => {
    for (const { from, to } of NOT_FOLLOWED) {
      assert.ok(crates.get(from)?.deps.some((d) => d.name === to), `${from} → ${to}`);
    }
  });
});

describe('stages are scripts: every workflow step runs scripts/ci/<component>.sh', () => {
  for (const [name, workflow] of workflows) {
    test(name, () => {
      for (const job of Object.values(workflow.jobs ?? {})) {
        for (const step of job.steps ?? []) {
          if (step.run === undefined) continue;
          assert.match(step.run.trim(), /^bash scripts\/ci\/(gateway|routes|backend)\.sh [^\n]+$/, step.run);
        }
      }
    });
  }

  test('each release job deploys, verifies, and rolls back only when one of them failed', () => {
    for (const [name, workflow] of workflows) {
      const release = workflow.jobs?.release;
      if (!release) continue;
      const stages = release.steps.filter((s) => s.run).map((s) => s.run.trim().split(' ').pop());
      assert.deepEqual(stages, ['deploy', 'verify', 'rollback'], name);
      const rollback = release.steps.find((s) => s.run?.endsWith('rollback'));
      assert.match(rollback.if, /failure\(\)/, name);
      assert.match(rollback.if, /steps\.verify\.outcome == 'failure'/, name);
      assert.equal(release.env?.DRY_RUN, '0', name);
      assert.equal(release.environment, 'production', name);
    }
  });
});

describe('cargo test -p COMPONENT compiles no other deployable component', () => {
  // Cargo's resolve graph: the workspace crates reachable from a crate (all of its own
  // dependencies, then normal and build ones).
  const metadata = cargoMetadata({ noDeps: false, cwd: ROOT });
  const names = new Map(metadata.packages.map((p) => [p.id, p.name]));
  const members = new Set(metadata.workspace_members);
  const nodes = new Map(metadata.resolve.nodes.map((n) => [n.id, n]));
  const resolved = (pkg) => {
    const start = metadata.packages.find((p) => p.name === pkg && members.has(p.id)).id;
    const seen = new Set([start]);
    const queue = [[start, true]];
    while (queue.length) {
      const [id, top] = queue.shift();
      for (const dep of nodes.get(id).deps) {
        const kinds = dep.dep_kinds.map((k) => k.kind);
        if (seen.has(dep.pkg) || (!top && kinds.every((k) => k === 'dev'))) continue;
        seen.add(dep.pkg);
        queue.push([dep.pkg, false]);
      }
    }
    return [...seen].filter((id) => members.has(id)).map((id) => names.get(id)).sort();
  };
  // What cargo itself compiles (or finds fresh): the workspace crates among its artifacts.
  const compiled = (pkg) => {
    const out = execFileSync('cargo', ['test', '-p', pkg, '--no-run', '--quiet', '--message-format=json'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const dirs = new Map([...crates].map(([name, c]) => [path.join(ROOT, c.dir), name]));
    const found = new Set();
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      const msg = JSON.parse(line);
      if (msg.reason !== 'compiler-artifact') continue;
      const name = dirs.get(path.dirname(msg.manifest_path));
      if (name) found.add(name);
    }
    return [...found].sort();
  };
  const table = [
    // crate       compiled by cargo here (the gateway alone is checked in the graph only: its
    //             cdylib output has no hash in its name, so building it with another feature
    //             set than npm test's other builds would recompile it twice)
    ['users', true],
    ['orders', true],
    ['orders-v2', true],
    ['idp', true],
    ['gatewayctl', true],
    ['gateway', false],
  ];
  for (const [pkg, build] of table) {
    const want = closure(crates, pkg).sort();
    const others = [...crates.keys()].filter((c) => !want.includes(c)).sort();
    test(`cargo test -p ${pkg} builds ${want.join(', ')}; not ${others.join(', ')}`, () => {
      assert.deepEqual(resolved(pkg), want);
      if (build) assert.deepEqual(compiled(pkg), want);
    });
  }
});

describe('backend images', () => {
  for (const name of BACKENDS) {
    test(`backends/${name}/Dockerfile: multi-stage, this crate only, small non-root runtime, its port`, () => {
      const text = read(`backends/${name}/Dockerfile`);
      const port = read(`backends/${name}/src/lib.rs`).match(/pub const DEFAULT_PORT: u16 = (\d+);/)[1];
      const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
      assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
      assert.match(froms.at(-1), /^gcr\.io\/distroless\/cc-debian\d+:nonroot$/);
      assert.match(text, new RegExp(`cargo build --release --locked -p ${name} `));
      const user = text.match(/^USER (\d+)(?::(\d+))?$/m);
      assert.ok(user && Number(user[1]) !== 0, 'a numeric non-root USER');
      assert.match(text, new RegExp(`^EXPOSE ${port}$`, 'm'));
      assert.match(text, new RegExp(`^ENV PORT=${port}$`, 'm'));
      assert.match(text, new RegExp(`^ENTRYPOINT \\["/usr/local/bin/${name}"\\]$`, 'm'));
    });
  }

  test('the build context sends what cargo needs to load the workspace', () => {
    const lines = read('.dockerignore').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '*');
    for (const dir of new Set([...crates.values()].map((c) => c.dir.split('/')[0]))) {
      if (dir === '.') continue;
      assert.ok(lines.includes(`!${dir}/`), dir);
    }
    for (const file of ['!Cargo.toml', '!Cargo.lock', '!src/', '!benches/']) assert.ok(lines.includes(file), file);
  });
});

describe('the tunnel configuration', () => {
  const config = parse(read('deploy/cloudflared/config.example.yml'));
  const routes = read('routes.toml');
  const rules = config.ingress;

  test('ends with a catch-all 404', () => {
    assert.deepEqual(rules.at(-1), { service: 'http_status:404' });
    assert.ok(rules.slice(0, -1).every((r) => r.hostname), 'every other rule names a hostname');
  });

  for (const name of BACKENDS) {
    test(`${name}: its hostname reaches its port on loopback, and routes.toml names that hostname`, () => {
      const port = read(`backends/${name}/src/lib.rs`).match(/pub const DEFAULT_PORT: u16 = (\d+);/)[1];
      const rule = rules.find((r) => r.hostname?.startsWith(`${name}.`));
      assert.ok(rule, `an ingress rule for ${name}`);
      assert.equal(rule.service, `http://127.0.0.1:${port}`);
      const section = routes.split(`[upstreams.${name}.env.production]`)[1];
      if (section === undefined) return; // not an upstream (the identity provider)
      const origins = section.split('\n[')[0].match(/origins = \["https:\/\/([^"/]+)"/);
      assert.equal(origins?.[1], rule.hostname);
    });
  }
});

describe('the dev container', () => {
  test('forwards the gateway port and runs the setup when it is created', () => {
    const config = JSON.parse(read('.devcontainer/devcontainer.json'));
    assert.ok(config.forwardPorts.includes(8787));
    assert.equal(config.onCreateCommand, 'bash scripts/setup.sh');
    // setup installs the pipeline linters with pip, and Node 22 comes from npm: both need a
    // Python with pip and a Node with npm in the image.
    assert.ok(Object.keys(config.features).some((f) => f.includes('/python:')));
    assert.ok(Object.keys(config.features).some((f) => f.includes('/node:')));
  });
});
