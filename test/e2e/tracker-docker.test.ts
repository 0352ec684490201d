import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture, FixtureLayer } from '../../src/fixtures/format.js';
import type { ProductFinding } from '../../src/model/finding.js';
import { loadSignatureSet } from '../../src/signatures/load.js';
import type { SignatureSet } from '../../src/signatures/types.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { scanImageRef } from '../../src/scan/image.js';
import { scanTargets, type ExecTarget } from '../../src/exec/coordinator.js';
import { openDockerExec } from '../../src/exec/docker.js';
import { runTracker } from '../../src/exec/run.js';
import { dockerTarget, runScanContainer } from '../../src/cli/scan-workloads.js';
import { waitFor } from '../support/daemons.js';
import { validateReport } from '../support/validate-report.js';
import { buildFixtureImage, docker, footprint, plainFixture, processes, removeContainer, runSleeper, type BuiltImage } from '../support/fixture-images.js';

const repo = join(import.meta.dirname, '../..');
let set: SignatureSet;
let engine: Docker;
const images: BuiltImage[] = [];
const containers: string[] = [];
const prefix = `kensus-e2e-${process.pid}`;

function productKeys(products: ProductFinding[]): string[] {
  return products.map((p) => `${p.id}|${p.edition}|${p.version}|${p.licensable}`).sort();
}

async function image(fixture: Fixture, name: string, opts?: Parameters<typeof buildFixtureImage>[2]): Promise<BuiltImage> {
  const built = await buildFixtureImage(fixture, `${prefix}-${name}:test`, opts);
  images.push(built);
  return built;
}

function sleeper(img: string, name: string, flags: string[] = []): string {
  const full = `${prefix}-${name}`;
  containers.push(full);
  runSleeper(img, full, flags);
  return full;
}

async function execScan(targets: ExecTarget[], timeoutMs = 60_000) {
  return scanTargets(targets, {
    set,
    timeoutMs,
    concurrency: 4,
    perNode: 4,
    scanImage: (ref) => scanImageRef(ref, { set, cacheDir: null }),
  });
}

/** A layer of `n` files in `n / 500` directories: a container the tracker needs seconds for. */
function manyFiles(n: number): FixtureLayer {
  const files = [];
  for (let i = 0; i < n; i++) files.push({ path: `/data/d${Math.floor(i / 500)}/f${i}`, content: '' });
  return { files };
}

const mongoBinary = '\x7fELF stand-in\ndb version v7.0.14\nBuild Info: {\n    "version": "7.0.14",\n    "modules": [\n        "enterprise"\n    ]\n}\n';

let mongo: Fixture;
let big: BuiltImage;

beforeAll(async () => {
  set = await loadSignatureSet();
  engine = new Docker();
  const fixtures = await loadFixtures();
  mongo = fixtures.find((f) => f.signature === 'mongodb-enterprise' && f.name === 'enterprise-7.0')!;
  expect(mongo, 'the mongodb-enterprise/enterprise-7.0 fixture').toBeDefined();
  big = await image(plainFixture('big', [manyFiles(30_000)]), 'big');
}, 180_000);

afterAll(() => {
  for (const c of containers) removeContainer(c);
  for (const i of images) {
    try {
      docker(['rmi', '-f', i.tag]);
    } catch {
      /* gone */
    }
    i.cleanup();
  }
});

describe('exec scan through the Docker engine', () => {
  it('finds the products of a running container and leaves no file and no process behind', async () => {
    const img = await image(mongo, 'mongo');
    const name = sleeper(img.tag, 'mongo');
    const before = footprint(name);
    const { report, exitCode } = await runScanContainer(name, { runtime: 'docker', cache: false });
    expect(exitCode).toBe(0);
    expect(validateReport(report)).toEqual([]);
    expect(report!.errors).toEqual([]);
    expect(report!.containers).toHaveLength(1);
    const row = report!.containers[0];
    expect(row).toMatchObject({ name, method: 'exec', image: img.tag });
    expect(row.products.map((p) => [p.id, p.version])).toEqual([['mongodb-enterprise', '7.0.14']]);
    expect(row.products[0].evidence.length).toBeGreaterThan(0);
    expect(footprint(name)).toEqual(before);
  });

  it('on every fixture with a shell, the exec scan finds what the image scan finds', async () => {
    const fixtures = (await loadFixtures()).filter((f) => f.image.shell);
    expect(fixtures.length).toBeGreaterThan(5);
    for (const fx of fixtures) {
      const img = await image(fx, `fx-${fx.signature}-${fx.name}`.toLowerCase());
      const name = sleeper(img.tag, `fx-${fx.signature}-${fx.name}`.toLowerCase());
      const before = footprint(name);
      const scan = await execScan([await dockerTarget(engine, name)]);
      expect(scan.errors, `${fx.signature}/${fx.name}`).toEqual([]);
      const viaImage = await scanImageRef(img.archiveRef, { set, cacheDir: null });
      expect(productKeys(scan.containers[0].products), `${fx.signature}/${fx.name}: exec vs image`).toEqual(productKeys(viaImage.products));
      for (const e of fx.expect) expect(scan.containers[0].products.map((p) => p.id), `${fx.signature}/${fx.name}`).toContain(e.id);
      // What the fixture proves (e.g. a strings rule's hit deep inside a binary) holds through the tracker too.
      for (const e of fx.expect) for (const rule of e.rules ?? []) expect(scan.containers[0].products.find((p) => p.id === e.id)?.evidence.map((ev) => ev.rule), `${fx.signature}/${fx.name}`).toContain(`${e.id}/${rule}`);
      for (const a of fx.absent ?? []) expect(scan.containers[0].products.map((p) => p.id), `${fx.signature}/${fx.name}`).not.toContain(a);
      expect(footprint(name), `${fx.signature}/${fx.name}: footprint`).toEqual(before);
      removeContainer(name);
    }
  }, 300_000);

  it('finds software installed into a volume at start-up, which the image scan cannot see, and says which method found it', async () => {
    // The image carries the server as an inert payload; the entrypoint installs it into a volume
    // (as database images do on first start).
    const img = await image(
      plainFixture('installer', [{ files: [{ path: '/opt/install/server.payload', content: mongoBinary, mode: 0o755 }] }]),
      'installer',
    );
    const name = `${prefix}-installer`;
    containers.push(name);
    removeContainer(name);
    docker(['run', '-d', '--name', name, '--tmpfs', '/usr/local/bin:exec,mode=755', '--entrypoint', '/bin/sh', img.tag, '-c',
      'cp /opt/install/server.payload /usr/local/bin/mongod && chmod 755 /usr/local/bin/mongod && exec sleep 1000000']);
    await waitFor('the installer to finish', () => docker(['exec', name, 'ls', '/usr/local/bin']).includes('mongod'));
    const before = footprint(name);
    const viaExec = await runScanContainer(name, { runtime: 'docker', cache: false });
    const viaImage = await scanImageRef(img.archiveRef, { set, cacheDir: null });
    expect(viaExec.report!.containers[0].method).toBe('exec');
    expect(viaExec.report!.containers[0].products.map((p) => p.id)).toContain('mongodb-enterprise');
    expect(viaExec.report!.containers[0].products.flatMap((p) => p.evidence.map((e) => e.path))).toContain('/usr/local/bin/mongod');
    expect(viaImage.products.map((p) => p.id)).not.toContain('mongodb-enterprise');
    expect(footprint(name)).toEqual(before);
  });

  it('works on a read-only root filesystem', async () => {
    const img = await image(mongo, 'mongo-ro');
    const name = sleeper(img.tag, 'mongo-ro', ['--read-only']);
    const before = footprint(name);
    const scan = await execScan([await dockerTarget(engine, name)]);
    expect(scan.errors).toEqual([]);
    expect(scan.containers[0].products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(footprint(name)).toEqual(before);
  });

  it('works as a non-root container user and reports what it could not read', async () => {
    const fx = plainFixture('nonroot', [
      ...mongo.layers,
      { files: [{ path: '/root/private', dir: true, mode: 0o700 }, { path: '/root/private/x.swidtag', content: '<x/>' }] },
    ], mongo.image.env);
    const img = await image(fx, 'nonroot');
    const name = sleeper(img.tag, 'nonroot', ['--user', '1000:1000']);
    const before = footprint(name);
    const target = await dockerTarget(engine, name);
    const result = await runTracker(await target.open(), set.plan, { timeoutMs: 60_000, target: name });
    expect(result.complete).toBe(true);
    expect(result.hello?.uid).toBe(1000);
    // busybox has no nice applet: the tracker reniced itself before reading the script.
    expect(result.hello?.nice).toBe(19);
    expect(result.denied.map((d) => d.path)).toContain('/root/private');
    const scan = await execScan([target]);
    expect(scan.containers[0].products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(footprint(name)).toEqual(before);
  });

  it('falls back to the image by id when the container has no shell', async () => {
    const img = await image(mongo, 'noshell', { shell: false, extraLayers: [{ files: [{ path: '/bin/busybox', base64: (await import('node:fs')).readFileSync('/bin/busybox').toString('base64'), mode: 0o755 }] }] });
    const name = sleeper(img.tag, 'noshell');
    const before = footprint(name);
    const scan = await execScan([await dockerTarget(engine, name)]);
    expect(scan.errors).toEqual([]);
    expect(scan.containers[0].method).toBe('image');
    expect(scan.containers[0].products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(footprint(name)).toEqual(before);
  });

  it('leaves nothing behind when the exec connection drops mid-scan', async () => {
    const name = sleeper(big.tag, 'drop');
    const before = footprint(name);
    const target = await dockerTarget(engine, name);
    const channel = await target.open();
    // Dropped on the first frame (the tracker's hello, written before it walks): a fixed delay
    // raced the walk, which on an idle machine finishes 30,000 files in under 300 ms.
    channel.stdout.once('data', () => channel.destroy());
    await expect(runTracker(channel, set.plan, { timeoutMs: 60_000, target: name })).rejects.toThrow(/stopped before it finished|connection/);
    // At nice 19 on a busy machine (other test files run beside this one) the tracker may wait
    // seconds for the CPU before its next write notices the closed stdout.
    await waitFor('the tracker to go', () => JSON.stringify(processes(name)) === JSON.stringify(before.processes), 30_000);
    expect(footprint(name)).toEqual(before);
  });

  it('leaves nothing behind when the coordinator is SIGKILLed mid-scan', async () => {
    // CPU-limited so the walk lasts seconds whatever the host's speed: the process list is polled,
    // and an idle machine can finish 30,000 files between two polls.
    const name = sleeper(big.tag, 'sigkill', ['--cpus', '0.1']);
    const before = footprint(name);
    const cli = spawn(process.execPath, ['--import', 'tsx', join(repo, 'test/support/kensus-cli.ts'), 'scan', 'container', name, '--runtime', 'docker', '--format', 'json', '--no-cache'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    const exited = new Promise((r) => cli.on('close', r));
    try {
      await waitFor('the tracker to start in the container', () => processes(name).length > before.processes.length, 30_000);
      cli.kill('SIGKILL');
      await exited;
      await waitFor('the tracker to go after its coordinator died', () => JSON.stringify(processes(name)) === JSON.stringify(before.processes), 30_000);
      expect(footprint(name)).toEqual(before);
    } finally {
      cli.kill('SIGKILL');
    }
  });

  it('a container that exits mid-scan becomes an errors row and the other containers are still scanned', async () => {
    const dying = sleeper(big.tag, 'dying', ['--cpus', '0.1']); // a walk that lasts, as above
    const img = await image(mongo, 'mongo-2');
    const healthy = sleeper(img.tag, 'healthy');
    const targets = [await dockerTarget(engine, dying), await dockerTarget(engine, healthy)];
    const killer = (async () => {
      await waitFor('the tracker in the dying container', () => processes(dying).length > 1, 30_000);
      docker(['kill', dying]);
    })();
    const scan = await execScan(targets);
    await killer;
    expect(scan.errors).toHaveLength(1);
    expect(scan.errors[0].target).toBe(dying);
    expect(scan.errors[0].message).toMatch(/stopped before it finished|not running/);
    expect(scan.containers.map((c) => [c.name, c.method, c.products.map((p) => p.id)])).toEqual([[healthy, 'exec', ['mongodb-enterprise']]]);
  });

  it('asks rpm for its packages when rpm and an sqlite rpmdb are there', async () => {
    // A stand-in rpm that answers the tracker's query as rpm does (tab-separated rows).
    const rpm = '#!/bin/sh\nprintf \'%s\\t%s\\t%s\\t%s\\n\' mongodb-enterprise-server \'(none):7.0.14-1.el9\' x86_64 \'MongoDB, Inc.\' bash \'(none):5.1.8-9.el9\' x86_64 \'Red Hat, Inc.\'\n';
    const img = await image(plainFixture('rpm', [{ files: [
      { path: '/usr/bin/rpm', content: rpm, mode: 0o755 },
      { path: '/var/lib/rpm/rpmdb.sqlite', content: 'not read by the tracker' },
    ] }]), 'rpm');
    const name = sleeper(img.tag, 'rpm');
    const before = footprint(name);
    const result = await runTracker(await (await dockerTarget(engine, name)).open(), set.plan, { timeoutMs: 60_000, target: name });
    expect(result.rpmPackages).toEqual([
      { manager: 'rpm', name: 'mongodb-enterprise-server', version: '7.0.14-1.el9', arch: 'x86_64', vendor: 'MongoDB, Inc.', source: 'rpm -qa' },
      { manager: 'rpm', name: 'bash', version: '5.1.8-9.el9', arch: 'x86_64', vendor: 'Red Hat, Inc.', source: 'rpm -qa' },
    ]);
    expect(footprint(name)).toEqual(before);
  });

  it('keeps to its time budget (partial result, reported) and to the per-container timeout (errors row)', async () => {
    // A CPU-limited container (as pods often are): the walk takes seconds whatever the machine,
    // so the one-second budget runs out for sure and the test does not depend on host speed.
    const name = sleeper(big.tag, 'budget', ['--cpus', '0.1']);
    const partial = await scanTargets([await dockerTarget(engine, name)], {
      set, timeoutMs: 60_000, concurrency: 1, perNode: 1, tracker: { timeSeconds: 1 },
      scanImage: (ref) => scanImageRef(ref, { set, cacheDir: null }),
    });
    expect(partial.containers).toHaveLength(1);
    expect(partial.errors).toEqual([{ target: name, message: expect.stringMatching(/partial scan: the tracker's time budget ran out/) }]);
    const before = processes(name);
    const cut = await execScan([await dockerTarget(engine, name)], 300);
    expect(cut.containers).toEqual([]);
    expect(cut.errors).toEqual([{ target: name, message: expect.stringMatching(/did not finish within/) }]);
    await waitFor('the tracker to go after the timeout', () => JSON.stringify(processes(name)) === JSON.stringify(before), 30_000);
  });

  it('names a missing container and a stopped one with exit code 3', async () => {
    await expect(runScanContainer(`${prefix}-nope`, { runtime: 'docker' })).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/no container/) });
    const name = sleeper(big.tag, 'stopped');
    docker(['stop', '-t', '0', name]);
    await expect(runScanContainer(name, { runtime: 'docker' })).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/is not running/) });
  });
});
