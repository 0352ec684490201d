/**
 * Images made of real Debian package bytes (test/support/debian-packages.ts: pinned .debs, their
 * real files and dpkg database entries) through every offline source: the in-memory subject,
 * docker-archive, oci-archive (zstd), OCI layout (gzip), the Docker engine, containerd (content
 * store and GC'd snapshots), the loopback registry, and an exec scan of a running container.
 * Debian's OpenJDK is not Oracle Java SE and Redis OSS is not Redis Enterprise: none of these
 * images may give a licensed finding.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../../src/fixtures/format.js';
import type { ProductFinding } from '../../src/model/finding.js';
import { scanImageRef } from '../../src/scan/image.js';
import { writeDockerArchive, writeOciArchive, writeOciLayout } from '../../src/fixtures/image-writer.js';
import { loadSignatureSet } from '../../src/signatures/load.js';
import { matchSubject } from '../../src/signatures/match.js';
import type { SignatureSet } from '../../src/signatures/types.js';
import { scanTargets } from '../../src/exec/coordinator.js';
import { dockerTarget } from '../../src/scan/workloads.js';
import { debianFixture, readLock } from '../support/debian-packages.js';
import { fixtureSubject } from '../support/fixture-subject.js';
import { NeedleScanner } from '../../src/util/needle-scan.js';
import { TestLiveSettings } from '../support/live-settings.js';
import { buildFixtureImage, docker, removeContainer, runSleeper, type BuiltImage } from '../support/fixture-images.js';
import { contentNamespace, criNamespace, mirrorsTo, publishFixture, startLiveEnv, type LiveEnv, type LiveFixture } from '../support/live-images.js';

const work = mkdtempSync(join(tmpdir(), 'kensus-debian-'));
const prefix = `kensus-deb-${process.pid}`;
let set: SignatureSet;
let env: LiveEnv;
const live = new TestLiveSettings();
const fixtures: Fixture[] = [];
const published = new Map<string, LiveFixture>();
const built: BuiltImage[] = [];
const containers: string[] = [];

/** What a licence manager would count: anything not known to be free. */
function licensed(products: ProductFinding[]): string[] {
  return products.filter((p) => p.licensable !== false).map((p) => `${p.id}@${p.version ?? '?'} (licensable ${p.licensable})`);
}

beforeAll(async () => {
  set = await loadSignatureSet();
  fixtures.push(
    await debianFixture('openjdk-17-jre-headless', ['java-common', 'openjdk-17-jre-headless', 'default-jre-headless'], {
      description: "Debian's OpenJDK 17 runtime (apt-get install default-jre-headless): release file IMPLEMENTOR=\"Debian\", launcher name openjdk, OpenJDK VM, GPLv2",
      refs: ['registry.example.com/debian/openjdk-17-jre:bookworm'],
      env: { JAVA_HOME: '/usr/lib/jvm/java-17-openjdk-amd64' },
      absent: ['oracle-java-se'],
    }),
    await debianFixture('redis-server', ['redis-tools', 'redis-server'], {
      description: "Debian's Redis 7.0 (apt-get install redis-server): /usr/bin/redis-server, no /opt/redislabs",
      refs: ['registry.example.com/debian/redis:bookworm'],
      absent: ['redis-enterprise'],
    }),
    await debianFixture('python3-six', ['python3-six'], {
      description: 'A Debian Python package in /usr/lib/python3/dist-packages (apt-get install python3-six)',
      refs: ['registry.example.com/debian/python3-six:bookworm'],
      absent: ['nvidia-nim', 'nvidia-ai-enterprise'],
    }),
  );
  env = await startLiveEnv();
  live.docker({ host: env.docker });
  for (const f of fixtures) published.set(f.name, await publishFixture(env, f, join(work, 'images')));
}, 900_000);

afterAll(() => {
  live.resetRegistry();
  live.resetContainerd();
  for (const c of containers) removeContainer(c);
  for (const b of built) {
    try {
      docker(['rmi', '-f', b.tag]);
    } catch {
      /* already gone */
    }
    b.cleanup();
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the real-bytes images', () => {
  it('are built from every pinned package, with the packages in the dpkg database', () => {
    const names = readLock().packages.map((p) => p.name);
    const used = fixtures.flatMap((f) => [...(f.source ?? '').matchAll(/Debian \w+ ([a-z0-9.+-]+)=/g)].map((m) => m[1]));
    expect(used.sort()).toEqual([...names].sort());
    const jdk = fixtures[0]!;
    const files = jdk.layers.flatMap((l) => l.files ?? []);
    // Real bytes: the runtime image and VM are the package's, not stand-ins.
    const modules = files.find((f) => f.path === '/usr/lib/jvm/java-17-openjdk-amd64/lib/modules');
    expect(Buffer.from(modules?.base64 ?? '', 'base64').length).toBeGreaterThan(50 << 20);
    const status = files.find((f) => f.path === '/var/lib/dpkg/status')?.content ?? '';
    expect(status).toMatch(/^Package: openjdk-17-jre-headless\nStatus: install ok installed\n/m);
  });

  it("reach the VM's name deep inside Debian's real libjvm.so and lib/modules within the strings rules' budgets, and find no Oracle name there", () => {
    const files = fixtures[0]!.layers.flatMap((l) => l.files ?? []);
    const home = '/usr/lib/jvm/java-17-openjdk-amd64';
    const real = (path: string): Buffer => Buffer.from(files.find((f) => f.path === path)?.base64 ?? '', 'base64');
    for (const [path, openName] of [
      [`${home}/lib/server/libjvm.so`, 'OpenJDK 64-Bit Server VM'],
      [`${home}/lib/modules`, 'OpenJDK Runtime Environment'],
    ] as const) {
      const bytes = real(path);
      const request = set.plan.scanFor?.(path);
      expect(request, `${path}: searched by the plan`).toBeDefined();
      // The plan's own search (Oracle's names) plus OpenJDK's name, streamed in 64 KiB chunks as a layer walk does.
      const scanner = new NeedleScanner({ ...request!, needles: [...request!.needles, openName] });
      for (let i = 0; i < bytes.length && !scanner.done; i += 65536) scanner.push(bytes.subarray(i, i + 65536));
      const hits = scanner.end();
      expect(hits.map((h) => h.needle), path).toEqual([openName]);
      // Deep inside the real file (16 MB into libjvm.so), yet within the budget of the rules.
      expect(hits[0]!.offset!, path).toBeGreaterThan(1 << 20);
      expect(hits[0]!.offset! + openName.length, path).toBeLessThanOrEqual(request!.budget);
    }
  });
});

describe.each(['openjdk-17-jre-headless', 'redis-server', 'python3-six'])('Debian %s', (name) => {
  const fixture = (): Fixture => fixtures.find((f) => f.name === name)!;
  const check = (products: ProductFinding[], where: string): void => {
    const ids = products.map((p) => p.id);
    for (const a of fixture().absent ?? []) expect(ids, `${where}: ${a} must be absent`).not.toContain(a);
    expect(licensed(products), `${where}: no licensed finding`).toEqual([]);
  };

  it('in memory (probe plan, package parsers, matcher)', async () => {
    const subject = await fixtureSubject(fixture(), set.plan);
    expect(subject.packages.map((p) => p.name)).toEqual(expect.arrayContaining([name]));
    if (name === 'openjdk-17-jre-headless') {
      // The negative means something only if the rules saw the runtime's real files.
      const home = '/usr/lib/jvm/java-17-openjdk-amd64';
      expect(subject.files.get(`${home}/release`)?.content?.toString()).toMatch(/^IMPLEMENTOR="Debian"$/m);
      expect(subject.files.get(`${home}/bin/java`)?.content?.toString('latin1')).toContain('\0openjdk\0java\0');
      expect(subject.files.get(`${home}/lib/server/libjsig.so`)?.content?.toString('latin1')).toContain('OpenJDK VM warning');
    }
    check(matchSubject(set, subject), 'in memory');
  });

  it('as docker-archive, oci-archive (zstd) and OCI layout (gzip)', async () => {
    const base = join(work, name);
    await writeDockerArchive(fixture(), `${base}.tar`);
    check((await scanImageRef(`docker-archive:${base}.tar`, { set, cacheDir: null })).products, 'docker-archive');
    await writeOciArchive(fixture(), `${base}.oci.tar`, { compression: 'zstd' });
    check((await scanImageRef(`oci-archive:${base}.oci.tar`, { set, cacheDir: null })).products, 'oci-archive zstd');
    await writeOciLayout(fixture(), `${base}.layout`, { compression: 'gzip' });
    check((await scanImageRef(`oci:${base}.layout`, { set, cacheDir: null })).products, 'oci layout gzip');
  }, 300_000);

  it('through the Docker engine, containerd (content store and snapshots) and the registry', async () => {
    const p = published.get(name)!;
    const scan = (ref: string) => scanImageRef(ref, { set, cacheDir: null, live: live.current });
    const docker = await scan(`docker:${p.name}`);
    expect(docker.source).toBe('docker');
    check(docker.products, 'docker');
    live.containerd({ address: env.containerd.socket, namespace: contentNamespace, snapshots: 'never' });
    const content = await scan(`containerd:${p.name}`);
    expect(content.source).toBe('containerd');
    check(content.products, 'containerd');
    live.containerd({ address: env.containerd.socket, namespace: criNamespace, snapshots: 'auto' });
    const snap = await scan(`containerd:${p.name}`);
    expect(snap.source).toBe('containerd-snapshot');
    check(snap.products, 'containerd snapshots');
    live.registry({ mirrors: mirrorsTo([...published.values()], env.anon.host), dockerConfig: join(work, 'none.json'), pullSecrets: [] });
    const reg = await scan(`registry:${p.name}`);
    expect(reg.source).toBe('registry');
    check(reg.products, 'registry');
  }, 300_000);

  it('in a running container, through the tracker (exec)', async () => {
    const img = await buildFixtureImage(fixture(), `${prefix}-${name}:test`);
    built.push(img);
    const cname = `${prefix}-${name}`;
    containers.push(cname);
    runSleeper(img.tag, cname);
    const scan = await scanTargets([await dockerTarget(new Docker(), cname)], {
      set,
      timeoutMs: 120_000,
      concurrency: 1,
      perNode: 1,
      scanImage: (ref) => scanImageRef(ref, { set, cacheDir: null }),
    });
    expect(scan.errors).toEqual([]);
    expect(scan.containers[0]!.method).toBe('exec');
    check(scan.containers[0]!.products, 'exec');
  }, 300_000);
});
