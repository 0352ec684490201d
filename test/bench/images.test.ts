// The benchmark's generated images must be real images: GNU tar reads them, dockerd loads the
// docker archive, the OCI archive's digests hold, and the floor walk counts what tar lists.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImage, type BuiltImage, type ImageSpec } from '../../bench/build.js';
import { appLayer, hugeData, miniBase, productLayer, syntheticDebian, whiteoutLayer } from '../../bench/layers.js';
import { TarFileWriter } from '../../bench/tar.js';
import { dockerCli } from '../support/daemons.js';

const root = join(import.meta.dirname, '..', '..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bench-images-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gnuList = (args: string[], input?: Buffer) => execFileSync('tar', args, { input, maxBuffer: 1 << 28 }).toString().split('\n').filter(Boolean);

describe('TarFileWriter', () => {
  it('writes ustar/PAX that GNU tar reads back, with the sha256 of the bytes', () => {
    const path = join(dir, 't.tar');
    const w = new TarFileWriter(path);
    const long = 'usr/share/' + 'very-long-directory-name/'.repeat(8) + 'x'.repeat(120) + '.txt';
    w.add({ path: 'etc/', type: 'dir', mode: 0o755 });
    w.add({ path: 'etc/hello', type: 'file', mode: 0o644 }, Buffer.from('hello\n'));
    w.add({ path: long, type: 'file', mode: 0o600 }, Buffer.from('long'));
    w.add({ path: 'etc/link', type: 'symlink', mode: 0o777, linkTarget: '/' + 'y'.repeat(150) });
    w.add({ path: 'etc/hard', type: 'hardlink', mode: 0o644, linkTarget: 'etc/hello' });
    w.begin({ path: 'big.bin', type: 'file', mode: 0o644, size: 5 << 20 });
    for (let i = 0; i < 5; i++) w.body(Buffer.alloc(1 << 20, i));
    w.endBody(5 << 20);
    const { size, sha256 } = w.end();
    expect(size).toBe(statSync(path).size);
    expect(sha256).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
    expect(gnuList(['tf', path])).toEqual(['etc/', 'etc/hello', long, 'etc/link', 'etc/hard', 'big.bin']);
    const out = join(dir, 'x');
    mkdirSync(out);
    execFileSync('tar', ['xf', path, '-C', out]);
    expect(readFileSync(join(out, long), 'utf8')).toBe('long');
    expect(statSync(join(out, 'etc/hard')).ino).toBe(statSync(join(out, 'etc/hello')).ino);
    expect(readFileSync(join(out, 'big.bin'))[(4 << 20) + 7]).toBe(4);
  });

  it('refuses a body longer or shorter than declared', () => {
    const w = new TarFileWriter(join(dir, 'bad.tar'));
    w.begin({ path: 'f', type: 'file', mode: 0o644, size: 3 });
    expect(() => w.body(Buffer.alloc(4))).toThrow(/longer than declared/);
    w.body(Buffer.alloc(2));
    expect(() => w.endBody(3)).toThrow(/short/);
  });
});

describe('generated images', () => {
  let img: BuiltImage;
  const spec: ImageSpec = {
    name: 'bench-test',
    layers: [miniBase(), syntheticDebian(0), whiteoutLayer(0), whiteoutLayer(1), whiteoutLayer(3), hugeData(8 << 20), productLayer(), appLayer('t')],
  };

  beforeAll(async () => {
    img = await ensureImage(join(dir, 'cache'), spec);
  }, 120_000);

  it('are reused from the cache on a second build', async () => {
    const before = statSync(img.archives.docker).mtimeMs;
    const again = await ensureImage(join(dir, 'cache'), spec);
    expect(again.archives).toEqual(img.archives);
    expect(statSync(again.archives.docker).mtimeMs).toBe(before);
  });

  it('docker archive: dockerd loads it and reports the layers we wrote', () => {
    const env = { ...process.env, DOCKER_HOST: process.env.KENSUS_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST };
    const out = execFileSync(dockerCli(), ['load', '-i', img.archives.docker], { env }).toString();
    expect(out).toContain('kensus-bench/bench-test:latest');
    const layers = JSON.parse(execFileSync(dockerCli(), ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'kensus-bench/bench-test:latest'], { env }).toString());
    expect(layers).toEqual(img.layers.map((l) => l.tar.digest));
    execFileSync(dockerCli(), ['rmi', 'kensus-bench/bench-test:latest'], { env, stdio: 'ignore' });
  });

  it('OCI archives: every digest and size in index, manifest and config holds', () => {
    for (const kind of ['oci-gzip', 'oci-zstd'] as const) {
      const blob = (digest: string) => execFileSync('tar', ['xOf', img.archives[kind], `blobs/sha256/${digest.slice(7)}`], { maxBuffer: 1 << 28 });
      const check = (d: { digest: string; size: number }) => {
        const b = blob(d.digest);
        expect(b.length).toBe(d.size);
        expect('sha256:' + createHash('sha256').update(b).digest('hex')).toBe(d.digest);
        return b;
      };
      const index = JSON.parse(execFileSync('tar', ['xOf', img.archives[kind], 'index.json']).toString());
      const manifest = JSON.parse(check(index.manifests[0]).toString());
      const config = JSON.parse(check(manifest.config).toString());
      expect(manifest.layers).toHaveLength(spec.layers.length);
      manifest.layers.forEach((l: { digest: string; size: number; mediaType: string }, i: number) => {
        const b = check(l);
        expect(l.mediaType).toBe(`application/vnd.oci.image.layer.v1.tar+${kind === 'oci-gzip' ? 'gzip' : 'zstd'}`);
        // the compressed blob holds the layer whose diffId the config names
        const tar = kind === 'oci-gzip' ? execFileSync('gzip', ['-dc'], { input: b, maxBuffer: 1 << 28 }) : execFileSync('zstd', ['-dcq'], { input: b, maxBuffer: 1 << 28 });
        expect('sha256:' + createHash('sha256').update(tar).digest('hex')).toBe(config.rootfs.diff_ids[i]);
      });
    }
  });

  it('whiteout layers carry .wh. and opaque markers', () => {
    const listing = gnuList(['tf', img.layers[3].tar.path]);
    expect(listing).toContain('app/.wh.a8');
    expect(listing).toContain('app/a14/.wh..wh..opq');
    expect(gnuList(['tf', img.layers[4].tar.path])).toContain('opt/mqm/bin/dspmqver');
  });

  it('floor-walk counts every entry GNU tar lists, in every shape', () => {
    const expected = img.layers.reduce((n, l) => n + gnuList(['tf', l.tar.path]).length, 0);
    const walk = (args: string[], input?: Buffer) =>
      JSON.parse(execFileSync(process.execPath, [join(root, 'bench', 'floor-walk.mjs'), ...args], { input, maxBuffer: 1 << 20 }).toString());
    for (const archive of [img.archives.docker, img.archives['oci-gzip'], img.archives['oci-zstd']]) {
      expect(walk([archive])).toMatchObject({ entries: expected, layers: spec.layers.length });
      expect(walk(['--parallel', archive])).toMatchObject({ entries: expected, layers: spec.layers.length });
    }
    const piped = JSON.parse(execFileSync('sh', ['-c', `cat "$1" | "$2" "$3" -`, 'sh', img.archives.docker, process.execPath, join(root, 'bench', 'floor-walk.mjs')]).toString());
    expect(piped).toMatchObject({ entries: expected, layers: spec.layers.length });
  });
});
