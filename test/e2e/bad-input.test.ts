/**
 * Hostile and broken images, at function level: each must end in a KensusError with the right
 * exit code and one line saying what is wrong (the CLI prints exactly that line), or - for
 * entries that are only odd - be read safely with a warning.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { KensusError, describeError } from '../../src/errors.js';
import type { Fixture } from '../../src/fixtures/format.js';
import { resolvePath } from '../../src/image/merge.js';
import { globPlan } from '../support/glob-plan.js';
import { readImage } from '../../src/image/read.js';
import { padding, paxHeader, tarArchive, tarEnd, tarEntry, tarHeader } from '../../src/fixtures/tar-writer.js';
import { compress, writeDockerArchive, writeOciLayout, writeRawImage } from '../../src/fixtures/image-writer.js';
import { sha256 } from '../../src/image/oci.js';
import { openImage } from '../../src/sources/index.js';

const work = mkdtempSync(join(tmpdir(), 'kensus-bad-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const plan = globPlan([
  ['/opt/**', 1024],
  ['/etc/**', 1024],
]);

const fixture: Fixture = {
  name: 'bad',
  signature: 'test',
  description: 'a small image to break',
  image: { refs: ['example.test/bad:1'] },
  layers: [{ files: [{ path: '/opt/app/version', content: 'app 1.2.3\n' }] }, { files: [{ path: '/etc/os-release', content: 'ID=test\n' }] }],
  expect: [],
};

/** Opens and reads; returns the error (asserting it is a one-line KensusError) or the image. */
async function scan(ref: string, opts: { verify?: boolean; maxLayerBytes?: number } = {}) {
  const handle = await openImage(ref, { verify: opts.verify });
  try {
    return await readImage(handle, plan, { cacheDir: null, verify: opts.verify, maxLayerBytes: opts.maxLayerBytes });
  } finally {
    await handle.close();
  }
}

async function failure(ref: string, opts: { verify?: boolean; maxLayerBytes?: number } = {}): Promise<KensusError> {
  const err = await scan(ref, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${ref} should fail`).toBeInstanceOf(KensusError);
  const line = describeError(err);
  expect(line).not.toMatch(/\n|\bat .*\.ts:\d+/); // one line, no stack
  expect(line.length).toBeGreaterThan(20);
  return err as KensusError;
}

function layoutBlobs(dir: string): string[] {
  return readdirSync(join(dir, 'blobs', 'sha256')).map((f) => join(dir, 'blobs', 'sha256', f));
}

/** The layer blobs of a written OCI layout (by reading its manifest, not by guessing). */
function layerBlobsOf(dir: string): string[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs', ...index.manifests[0].digest.split(':')), 'utf8'));
  return manifest.layers.map((l: { digest: string }) => join(dir, 'blobs', ...l.digest.split(':')));
}

describe('bad references and files', () => {
  it('an unknown REF form names the accepted forms (exit 2)', async () => {
    for (const ref of ['ftp://example/x.tar', 'dockr-archive:/tmp/x.tar', 'podman:/x']) {
      const err = await openImage(ref).catch((e) => e);
      expect(err).toBeInstanceOf(KensusError);
      expect(err.exitCode).toBe(2);
      expect(describeError(err)).toContain('docker-archive:PATH');
    }
  });

  it('a missing file is exit 2 and says so', async () => {
    const err = await failure(`docker-archive:${join(work, 'nope.tar')}`);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/no such file/);
    expect((await failure(`oci:${join(work, 'nope-dir')}`)).exitCode).toBe(2);
  });

  it('a directory where a file is expected, and a file where a directory is expected, are exit 2', async () => {
    const dir = join(work, 'a-dir');
    mkdirSync(dir, { recursive: true });
    const e1 = await failure(`docker-archive:${dir}`);
    expect(e1.exitCode).toBe(2);
    expect(describeError(e1)).toMatch(/is a directory.*oci:DIR/);
    await writeDockerArchive(fixture, join(work, 'ok.tar'));
    const e2 = await failure(`oci:${join(work, 'ok.tar')}`);
    expect(e2.exitCode).toBe(2);
    expect(describeError(e2)).toMatch(/is a file.*docker-archive:/);
  });

  it('an unreadable file is exit 3', async () => {
    const path = join(work, 'secret.tar');
    await writeDockerArchive(fixture, path);
    chmodSync(path, 0o000);
    chmodSync(work, 0o755);
    const script = `import { openImage } from './src/sources/index.ts'; import { describeError, exitCodeOf } from './src/errors.ts';
      try { await openImage(${JSON.stringify(`docker-archive:${path}`)}); console.log('opened'); }
      catch (e) { console.log(exitCodeOf(e) + ' ' + describeError(e)); }`;
    // root reads anything: drop to nobody for this one check
    const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const r = spawnSync(asNobody[0] ?? process.execPath, [...asNobody.slice(1), ...(asNobody.length ? [process.execPath] : []), '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
      env: { ...process.env, HOME: work, TSX_TSCONFIG_PATH: join(process.cwd(), 'tsconfig.json') },
    });
    expect(r.stdout.trim(), r.stderr).toMatch(/^3 .*permission denied/);
  });

  it('a file that is not a tar is exit 2', async () => {
    const path = join(work, 'junk.tar');
    writeFileSync(path, Buffer.alloc(4096, 0x5a));
    const err = await failure(`docker-archive:${path}`);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/not a valid tar/);
  });

  it('a truncated archive is exit 2', async () => {
    const path = join(work, 'cut.tar');
    await writeDockerArchive(fixture, path);
    truncateSync(path, Math.floor(statSync(path).size / 2) + 100);
    expect((await failure(`docker-archive:${path}`)).exitCode).toBe(2);
  });
});

describe('broken archives on a pipe', () => {
  async function viaPipe(bytes: Buffer): Promise<KensusError> {
    const fifo = join(work, `fifo-${Math.random().toString(36).slice(2)}`);
    spawnSync('mkfifo', [fifo]);
    const { createWriteStream } = await import('node:fs');
    const writer = new Promise<void>((resolve) => {
      const w = createWriteStream(fifo);
      w.on('error', () => resolve()); // the reader may stop early: a broken pipe is fine
      w.end(bytes, () => resolve());
    });
    const err = await failure(`docker-archive:${fifo}`);
    await writer;
    return err;
  }

  it('garbage on a pipe is exit 2', async () => {
    const err = await viaPipe(Buffer.alloc(8192, 0x41));
    expect(err.exitCode).toBe(2);
  });

  it('a tampered layer on a pipe is exit 2 (every layer is hashed on the way)', async () => {
    const path = join(work, 'pipe-tampered.tar');
    await writeDockerArchive(fixture, path);
    const bytes = readFileSync(path);
    bytes.write('app 6.6.6', bytes.indexOf('app 1.2.3'), 'latin1');
    const err = await viaPipe(bytes);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/hashes to sha256:.*not the declared/);
  });

  it('a pipe without manifest.json is exit 2', async () => {
    const err = await viaPipe(tarArchive([{ name: 'hello.txt', content: Buffer.from('hi') }]));
    expect(err.message).toMatch(/no manifest.json/);
  });
});

describe('broken layers', () => {
  it('a truncated gzip layer is exit 2', async () => {
    const dir = join(work, 'trunc-gz');
    await writeOciLayout(fixture, dir, { compression: 'gzip' });
    const blob = layerBlobsOf(dir)[0];
    truncateSync(blob, statSync(blob).size - 30);
    const err = await failure(`oci:${dir}`);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/gzip|truncated/);
  });

  it('a corrupt zstd layer is exit 2', async () => {
    const dir = join(work, 'bad-zstd');
    await writeOciLayout(fixture, dir, { compression: 'zstd' });
    const blob = layerBlobsOf(dir)[0];
    const bytes = readFileSync(blob);
    for (let i = 12; i < bytes.length - 4; i += 5) bytes[i] ^= 0xa5;
    writeFileSync(blob, bytes);
    const err = await failure(`oci:${dir}`);
    expect(err.exitCode).toBe(2);
  });

  it('a manifest naming a missing layer is exit 2 and names the layer', async () => {
    const dir = join(work, 'missing-layer');
    await writeOciLayout(fixture, dir);
    const blob = layerBlobsOf(dir)[1];
    rmSync(blob);
    const err = await failure(`oci:${dir}`);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(blob.split('/').pop());
    // the same in a docker save archive
    const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] } }));
    const path = join(work, 'missing-layer.tar');
    writeFileSync(
      path,
      tarArchive([
        { name: `${sha256(config).slice(7)}.json`, content: config },
        { name: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: `${sha256(config).slice(7)}.json`, Layers: ['abc/layer.tar'] }])) },
      ]),
    );
    const e2 = await failure(`docker-archive:${path}`);
    expect(e2.exitCode).toBe(2);
    expect(e2.message).toContain('abc/layer.tar');
  });

  it('a wrong digest is exit 2: tampered config, tampered compressed layer, tampered layer under --verify', async () => {
    const d1 = join(work, 'bad-config');
    await writeOciLayout(fixture, d1);
    const index = JSON.parse(readFileSync(join(d1, 'index.json'), 'utf8'));
    const manifestPath = join(d1, 'blobs', ...index.manifests[0].digest.split(':'));
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const configPath = join(d1, 'blobs', ...manifest.config.digest.split(':'));
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('amd64', 'arm64'));
    expect((await failure(`oci:${d1}`)).message).toMatch(/config .* hashes to/);

    const d2 = join(work, 'bad-layer');
    await writeOciLayout(fixture, d2);
    // a valid gzip of a different tar under the first layer's name
    writeFileSync(layerBlobsOf(d2)[0], gzipSync(tarArchive([{ name: 'opt/app/version', content: Buffer.from('forged') }])));
    const e2 = await failure(`oci:${d2}`);
    expect(e2.exitCode).toBe(2);
    expect(e2.message).toMatch(/not the declared sha256:/);

    // uncompressed docker-archive: skip-read without --verify (cached only under the archive's
    // identity), caught with --verify
    const path = join(work, 'lying.tar');
    await writeDockerArchive(fixture, path);
    const bytes = readFileSync(path);
    const at = bytes.indexOf('app 1.2.3');
    bytes.write('app 6.6.6', at, 'latin1');
    writeFileSync(path, bytes);
    const unverified = await scan(`docker-archive:${path}`);
    expect(unverified.files.get('/opt/app/version')!.content!.toString()).toBe('app 6.6.6\n');
    expect((await failure(`docker-archive:${path}`, { verify: true })).message).toMatch(/not the declared sha256:/);
  });

  it('stops a gzip bomb at the per-layer inflate cap (exit 2)', async () => {
    const dir = join(work, 'bomb');
    const size = 32 * 1024 * 1024;
    const bombTar = Buffer.concat([tarHeader({ name: 'opt/zeros', size }), Buffer.alloc(size), tarEnd()]);
    await writeRawImage([bombTar], dir, { format: 'oci', compression: 'gzip' });
    expect(statSync(layoutBlobs(dir).sort((a, b) => statSync(b).size - statSync(a).size)[0]).size).toBeLessThan(size / 500);
    const err = await failure(`oci:${dir}`, { maxLayerBytes: 8 * 1024 * 1024 });
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/decompression bomb/);
  });
});

describe('odd entries are read safely', () => {
  it("drops names with '..' that escape the root, neutralises absolute names, and warns", async () => {
    const layer = tarArchive([
      { name: '../../../etc/cron.d/evil', content: Buffer.from('evil') },
      { name: 'opt/../../opt/escape', content: Buffer.from('evil') },
      { name: '/etc/absolute', content: Buffer.from('abs') },
      { name: 'opt/ok/../fine', content: Buffer.from('fine') },
    ]);
    const path = join(work, 'dotdot.tar');
    await writeRawImage([layer], path, { format: 'docker-archive' });
    const image = await scan(`docker-archive:${path}`);
    expect([...image.files.keys()].sort()).toEqual(['/etc/absolute', '/opt/fine']);
    expect(image.warnings.filter((w) => w.includes('escapes the image root'))).toHaveLength(2);
  });

  it('reads an image with a symlink loop; resolving the loop gives null, not a hang', async () => {
    const layer = tarArchive([
      { name: 'opt/a', type: 'symlink', linkname: 'b' },
      { name: 'opt/b', type: 'symlink', linkname: '/opt/a' },
      { name: 'etc/self', type: 'symlink', linkname: 'self' },
    ]);
    const path = join(work, 'loop.tar');
    await writeRawImage([layer], path, { format: 'oci-archive' });
    const image = await scan(`oci-archive:${path}`);
    expect(resolvePath(image.files, '/opt/a/x')).toBeNull();
    expect(resolvePath(image.files, '/etc/self')).toBeNull();
  });

  it('counts a 10 GB sparse file by its declared size, never reading or allocating it', async () => {
    const tenGB = 10 * 1024 ** 3;
    const data = Buffer.from('tail');
    const layer = Buffer.concat([
      tarHeader({ name: 'opt/oracle/oradata/system01.dbf', typeflag: 'S', size: data.length, realSize: tenGB, gnu: true }),
      data,
      padding(data.length),
      ...paxHeader({ 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 'opt/oracle/oradata/users01.dbf', 'GNU.sparse.realsize': String(tenGB) }),
      tarHeader({ name: 'opt/oracle/oradata/GNUSparseFile.0/users01.dbf', size: 0 }),
      ...tarEntry({ name: 'opt/app/version', content: Buffer.from('v') }),
      tarEnd(),
    ]);
    for (const [format, compression] of [['docker-archive', 'none'], ['oci', 'zstd']] as const) {
      const path = join(work, `sparse-${format}${format === 'oci' ? '' : '.tar'}`);
      await writeRawImage([layer], path, { format, compression });
      const before = process.memoryUsage().rss;
      const image = await scan(`${format}:${path}`);
      expect(image.files.get('/opt/oracle/oradata/system01.dbf')).toMatchObject({ size: tenGB, kind: 'file' });
      expect(image.files.get('/opt/oracle/oradata/system01.dbf')!.content).toBeUndefined();
      expect(image.files.get('/opt/oracle/oradata/users01.dbf')!.size).toBe(tenGB);
      expect(image.files.get('/opt/app/version')!.content!.toString()).toBe('v');
      expect(image.stats.bytesRead).toBeLessThan(1024 * 1024);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    }
  });

  it('rejects a compressed layer whose bytes are not what the media type and magic say', async () => {
    const dir = join(work, 'not-gzip');
    await writeOciLayout(fixture, dir, { compression: 'gzip' });
    const blob = layerBlobsOf(dir)[0];
    // gzip magic, then garbage
    writeFileSync(blob, Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0]), compress(Buffer.alloc(2048, 1), 'none')]));
    expect((await failure(`oci:${dir}`)).exitCode).toBe(2);
  });
});
