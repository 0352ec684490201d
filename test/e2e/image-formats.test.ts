/**
 * The same fixture written in every offline format must read to the same merged files; and a
 * real `docker save` from the test dockerd must read too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, writeFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/model/entry.js';
import type { Fixture } from '../../src/fixtures/format.js';
import { globPlan } from '../support/glob-plan.js';
import { readImage } from '../../src/image/read.js';
import { resolvePath } from '../../src/image/merge.js';
import { writeDockerArchive, writeMultiArch, writeMultiArchFixture, writeOciArchive, writeOciLayout } from '../../src/fixtures/image-writer.js';
import { openImage } from '../../src/sources/index.js';
import { dockerCli, requireBinary } from '../support/daemons.js';

const work = mkdtempSync(join(tmpdir(), 'kensus-formats-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const plan = globPlan([
  ['/opt/oracle/**', 4096],
  ['/usr/lib/jvm/**/release', 4096],
  ['/etc/os-release', 4096],
  ['/bin/busybox', 0],
]);

const fixture: Fixture = {
  name: 'formats',
  signature: 'test',
  description: 'two products across layers; the second is removed by a whiteout',
  image: { labels: { 'org.opencontainers.image.title': 'formats' }, env: { ORACLE_HOME: '/opt/oracle/product/19c/dbhome_1', PATH: '/usr/bin' }, refs: ['example.test/formats:1.0'] },
  layers: [
    {
      files: [
        { path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
        { path: '/opt/oracle/product/19c/dbhome_1/inventory/ContentsXML/comps.xml', content: '<COMP NAME="oracle.server" VER="19.3.0.0.0"/>' },
        { path: '/opt/oracle/product/19c/dbhome_1/bin/oracle', size: 200_000 },
        { path: '/opt/oracle/bin-link', hardlink: '/opt/oracle/product/19c/dbhome_1/bin/oracle' },
        { path: '/usr/lib/jvm/jdk-17/release', content: 'JAVA_VERSION="17.0.2"\nIMPLEMENTOR="Oracle Corporation"\n' },
        { path: '/usr/bin/java', symlink: '../lib/jvm/jdk-17/bin/java' },
        { path: '/var/lib/data.bin', size: 300_000 },
      ],
    },
    { files: [{ path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12.5"\n' }], whiteouts: ['/usr/lib/jvm'] },
    { opaque: ['/opt/oracle/product'], files: [{ path: '/opt/oracle/product/README', content: 'moved' }] },
  ],
  expect: [],
};

function view(files: Map<string, FileEntry>) {
  return [...files.values()]
    .map((e) => ({ path: e.path, kind: e.kind, size: e.size, link: e.linkTarget ?? null, content: e.content?.toString('utf8') ?? null, truncated: e.truncated ?? false }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

async function read(ref: string, opts: { platform?: string; verify?: boolean; cacheDir?: string | null } = {}) {
  const handle = await openImage(ref, { platform: opts.platform, verify: opts.verify });
  try {
    const image = await readImage(handle, plan, { cacheDir: opts.cacheDir ?? null, verify: opts.verify });
    return { handle, image };
  } finally {
    await handle.close();
  }
}

describe('image formats', () => {
  it('reads the same merged files from docker-archive (both layouts), oci-archive gzip/zstd/none and an OCI layout', async () => {
    const refs: string[] = [];
    await writeDockerArchive(fixture, join(work, 'legacy.tar'));
    refs.push(`docker-archive:${join(work, 'legacy.tar')}`);
    await writeDockerArchive(fixture, join(work, 'docker-oci.tar'), { format: 'oci' });
    refs.push(`docker-archive:${join(work, 'docker-oci.tar')}`);
    await writeDockerArchive(fixture, join(work, 'legacy-gz.tar'), { compression: 'gzip' });
    refs.push(`docker-archive:${join(work, 'legacy-gz.tar')}`);
    for (const c of ['gzip', 'zstd', 'none'] as const) {
      await writeOciArchive(fixture, join(work, `oci-${c}.tar`), { compression: c });
      refs.push(`oci-archive:${join(work, `oci-${c}.tar`)}`);
    }
    await writeOciLayout(fixture, join(work, 'layout'), { compression: 'gzip' });
    refs.push(`oci:${join(work, 'layout')}`);
    refs.push(`oci:${join(work, 'layout')}:1.0`);
    refs.push(join(work, 'legacy.tar')); // bare path: sniffed
    // a layout packed by hand with GNU tar ('./' names, GNU headers)
    execFileSync('tar', ['-C', join(work, 'layout'), '-cf', join(work, 'gnu-packed.tar'), '.']);
    refs.push(`oci-archive:${join(work, 'gnu-packed.tar')}`);

    const views = [];
    for (const ref of refs) {
      const { handle, image } = await read(ref);
      expect(handle.digest, ref).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(image.labels).toEqual({ 'org.opencontainers.image.title': 'formats' });
      expect(image.env.ORACLE_HOME).toBe('/opt/oracle/product/19c/dbhome_1');
      expect(image.stats.layers).toBe(3);
      views.push(view(image.files));
    }
    for (const v of views.slice(1)) expect(v).toEqual(views[0]);

    const files = new Map(views[0].map((e) => [e.path, e]));
    // later layer wins
    expect(files.get('/etc/os-release')!.content).toContain('12.5');
    // whiteout removed the JDK (its release file) in layer 2
    expect(files.has('/usr/lib/jvm/jdk-17/release')).toBe(false);
    // opaque dir in layer 3 dropped the database home below /opt/oracle/product
    expect([...files.keys()].filter((p) => p.startsWith('/opt/oracle/product/'))).toEqual(['/opt/oracle/product/README']);
    // the hard link made in layer 1 keeps the file's content though its target path is gone
    expect(files.get('/opt/oracle/bin-link')).toMatchObject({ kind: 'hardlink', size: 200_000, truncated: true });
    expect(files.get('/opt/oracle/bin-link')!.content!.length).toBe(4096);
    // symlinks stay (dangling or not); non-candidates do not
    expect(files.get('/usr/bin/java')).toMatchObject({ kind: 'symlink', link: '../lib/jvm/jdk-17/bin/java' });
    expect(files.has('/var/lib/data.bin')).toBe(false);
  });

  it('reads refs from docker-archive RepoTags and OCI ref.name annotations', async () => {
    const d = await read(`docker-archive:${join(work, 'legacy.tar')}`);
    expect(d.image.refs).toEqual(['example.test/formats:1.0']);
    const o = await read(`oci:${join(work, 'layout')}`);
    expect(o.image.refs).toEqual(['example.test/formats:1.0']);
  });

  it('skip-reads uncompressed docker-archive layers: bytes read stay far below the archive size', async () => {
    const big: Fixture = { ...fixture, layers: [{ files: [{ path: '/srv/blob-a', size: 8_000_000 }, { path: '/srv/blob-b', size: 8_000_000 }, { path: '/opt/oracle/x', content: 'x' }] }] };
    const path = join(work, 'big.tar');
    await writeDockerArchive(big, path);
    const { image } = await read(`docker-archive:${path}`);
    expect(image.files.get('/opt/oracle/x')!.content!.toString()).toBe('x');
    expect(image.stats.bytesRead).toBeLessThan(300_000);
    expect(statSync(path).size).toBeGreaterThan(16_000_000);
    // --verify reads (and hashes) everything
    const verified = await read(`docker-archive:${path}`, { verify: true });
    expect(verified.image.stats.bytesRead).toBeGreaterThan(16_000_000);
  });

  it('picks the platform from a multi-arch index (default linux/amd64, --platform linux/arm64)', async () => {
    const withProduct = fixture;
    const without: Fixture = { ...fixture, name: 'arm', layers: [{ files: [{ path: '/etc/os-release', content: 'ID=alpine\n' }] }] };
    for (const target of [join(work, 'multi'), join(work, 'multi.tar')]) {
      await writeMultiArch({ 'linux/amd64': withProduct, 'linux/arm64': without }, target, { compression: 'zstd' });
      const ref = target.endsWith('.tar') ? `oci-archive:${target}` : `oci:${target}`;
      const amd = await read(ref);
      expect(amd.image.files.has('/opt/oracle/product/README')).toBe(true);
      const arm = await read(ref, { platform: 'linux/arm64' });
      expect(arm.image.files.has('/opt/oracle/product/README')).toBe(false);
      expect(arm.image.files.get('/etc/os-release')!.content!.toString()).toBe('ID=alpine\n');
      expect(arm.handle.digest).not.toBe(amd.handle.digest);
      await expect(read(ref, { platform: 'linux/s390x' })).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringContaining('linux/amd64, linux/arm64'),
      });
    }
  });

  it('writeMultiArchFixture puts the product on one platform only', async () => {
    const target = join(work, 'multi-fixture.tar');
    await writeMultiArchFixture(fixture, target, { compression: 'gzip' });
    const amd = await read(`oci-archive:${target}`);
    expect(amd.image.files.has('/opt/oracle/product/README')).toBe(true);
    const arm = await read(`oci-archive:${target}`, { platform: 'linux/arm64' });
    expect(arm.image.files.has('/opt/oracle/product/README')).toBe(false);
    expect(arm.image.refs).toEqual(amd.image.refs);
  });

  it('uses the layer cache: the second read of the same layers reads nothing', async () => {
    const cacheDir = join(work, 'cache');
    const ref = `oci-archive:${join(work, 'oci-gzip.tar')}`;
    const first = await read(ref, { cacheDir });
    expect(first.image.stats.layersFromCache).toBe(0);
    const second = await read(ref, { cacheDir });
    expect(second.image.stats.layersFromCache).toBe(3);
    expect(second.image.stats.bytesRead).toBe(0);
    expect(view(second.image.files)).toEqual(view(first.image.files));
    // the same layers in another format share the trusted (checked) cache entries
    const layout = await read(`oci:${join(work, 'layout')}`, { cacheDir });
    expect(layout.image.stats.layersFromCache).toBe(3);
  });

  it('reads a docker save archive from a pipe, layers walked as they arrive (both layouts)', async () => {
    const { createReadStream, createWriteStream } = await import('node:fs');
    const { pipeline } = await import('node:stream/promises');
    for (const name of ['legacy.tar', 'docker-oci.tar']) {
      const fifo = join(work, `pipe-${name}`);
      execFileSync('mkfifo', [fifo]);
      const writer = pipeline(createReadStream(join(work, name)), createWriteStream(fifo));
      const piped = await read(`docker-archive:${fifo}`);
      await writer;
      const fromFile = await read(`docker-archive:${join(work, name)}`);
      expect(view(piped.image.files)).toEqual(view(fromFile.image.files));
      expect(piped.handle.digest).toBe(fromFile.handle.digest);
      expect(piped.handle.layers.map((l) => l.digest)).toEqual(fromFile.handle.layers.map((l) => l.digest));
      expect(piped.image.refs).toEqual(['example.test/formats:1.0']);
    }
  });

  it('reads a real docker save of a FROM scratch busybox image', async () => {
    const docker = dockerCli();
    const busybox = requireBinary('busybox', 'busybox-static');
    const ctx = join(work, 'ctx');
    mkdirSync(ctx, { recursive: true });
    copyFileSync(busybox, join(ctx, 'busybox'));
    writeFileSync(join(ctx, 'release'), 'JAVA_VERSION="21.0.1"\nIMPLEMENTOR="Oracle Corporation"\n');
    writeFileSync(
      join(ctx, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'COPY release /usr/lib/jvm/jdk-21/release',
        'COPY release /opt/oracle/gone.txt',
        'RUN ["/bin/busybox", "rm", "/opt/oracle/gone.txt"]',
        'RUN ["/bin/busybox", "ln", "-s", "/bin/busybox", "/bin/sh"]',
        'LABEL com.example.product="kensus-test"',
        'ENV JAVA_HOME=/usr/lib/jvm/jdk-21',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, DOCKER_BUILDKIT: '0' };
    const tag = 'kensus-test/formats-busybox:1';
    execFileSync(docker, ['build', '-q', '-t', tag, ctx], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = join(work, 'real-save.tar');
    execFileSync(docker, ['save', '-o', out, tag], { env });
    const { handle, image } = await read(`docker-archive:${out}`, { verify: true });
    expect(handle.source).toBe('docker-archive');
    expect(image.refs).toContain('kensus-test/formats-busybox:1');
    expect(image.labels['com.example.product']).toBe('kensus-test');
    expect(image.env.JAVA_HOME).toBe('/usr/lib/jvm/jdk-21');
    expect(image.files.get('/usr/lib/jvm/jdk-21/release')!.content!.toString()).toContain('21.0.1');
    expect(image.files.get('/bin/busybox')).toMatchObject({ kind: 'file' });
    expect(image.files.get('/bin/busybox')!.size).toBe(statSync(busybox).size);
    expect(image.files.has('/opt/oracle/gone.txt')).toBe(false);
    expect(resolvePath(image.files, '/bin/sh')).toBe('/bin/busybox');
    // the image ID docker reports is the digest we report
    const id = execFileSync(docker, ['image', 'inspect', '-f', '{{.Id}}', tag], { env }).toString().trim();
    expect(handle.digest).toBe(id);
    // and `docker save IMAGE | kensus ... docker-archive:/dev/stdin` reads the same, from a pipe
    const fifo = join(work, 'real-pipe');
    execFileSync('mkfifo', [fifo]);
    const { spawn } = await import('node:child_process');
    const saver = spawn('sh', ['-c', `exec "$0" save "$1" > "$2"`, docker, tag, fifo], { env, stdio: 'ignore' });
    const saved = new Promise((resolve) => saver.on('exit', resolve));
    const piped = await read(`docker-archive:${fifo}`);
    expect(await saved).toBe(0);
    expect(view(piped.image.files)).toEqual(view(image.files));
    expect(piped.handle.digest).toBe(id);
  });
});
