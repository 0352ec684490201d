import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import tar from 'tar-stream';
import type { FileEntry, ProbePlan } from '../model/entry.js';
import { mergeLayers } from './merge.js';
import type { ImageHandle } from './types.js';
import { readImage } from './read.js';
import { requireBinary } from '../../test/support/daemons.js';
import { dirLayerHandle, dirLayerTar, opaqueDirs, walkDirLayer } from './walk-dir.js';

const plan: ProbePlan = {
  version: 'host-test',
  probes: [],
  contentBytes: (p) => (p.startsWith('/opt/') ? 8 : p === '/etc/os-release' ? 100 : undefined),
};

/** Two overlayfs layer dirs as containerd's applier leaves them: whiteout = char dev 0/0, opaque = xattr. */
function overlayLayers(): { lower: string; upper: string } {
  const root = mkdtempSync(join(tmpdir(), 'kensus-host-'));
  const lower = join(root, 'lower');
  const upper = join(root, 'upper');
  mkdirSync(join(lower, 'opt/app/lib'), { recursive: true });
  mkdirSync(join(lower, 'opt/gone'), { recursive: true });
  mkdirSync(join(lower, 'opt/opaque'), { recursive: true });
  mkdirSync(join(lower, 'etc'), { recursive: true });
  writeFileSync(join(lower, 'opt/app/version.txt'), 'version=1.2.3\n');
  writeFileSync(join(lower, 'opt/gone/product.txt'), 'to be deleted');
  writeFileSync(join(lower, 'opt/opaque/old.txt'), 'hidden by opaque');
  writeFileSync(join(lower, 'etc/os-release'), 'ID=test\n');
  linkSync(join(lower, 'opt/app/version.txt'), join(lower, 'opt/app/hard.txt'));
  symlinkSync('version.txt', join(lower, 'opt/app/link.txt'));
  mkdirSync(join(upper, 'opt/opaque'), { recursive: true });
  writeFileSync(join(upper, 'opt/opaque/new.txt'), 'new');
  // Real overlay markers (root: mknod and trusted.* xattrs).
  execFileSync('mknod', [join(upper, 'opt/gone'), 'c', '0', '0']);
  execFileSync(requireBinary('setfattr', 'attr'), ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'opt/opaque')]);
  return { lower, upper };
}

async function tarNames(stream: NodeJS.ReadableStream): Promise<string[]> {
  const ex = tar.extract();
  const names: string[] = [];
  ex.on('entry', (h, s, next) => {
    names.push(`${h.type}:${h.name}${h.linkname ? `->${h.linkname}` : ''}`);
    s.resume();
    s.on('end', next);
  });
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  await new Promise<void>((r) => ex.on('finish', () => r()));
  return names;
}

describe('overlay directory layers', () => {
  it('finds opaque directories by their xattr', async () => {
    const { upper } = overlayLayers();
    expect([...(await opaqueDirs(upper))]).toEqual(['/opt/opaque']);
  });

  it('walkDirLayer keeps candidates with bounded content and maps whiteouts and opaque dirs', async () => {
    const { lower, upper } = overlayLayers();
    const low = await walkDirLayer(lower, plan, { overlay: true, origin: 'lower' });
    const byPath = new Map(low.entries.map((e) => [e.path, e]));
    expect(byPath.get('/opt/app/version.txt')?.content?.toString()).toBe('version=');
    expect(byPath.get('/opt/app/version.txt')?.truncated).toBe(true);
    // Name order: hard.txt is met first, so version.txt is the link (with the same bytes).
    expect(byPath.get('/opt/app/hard.txt')).toMatchObject({ kind: 'file' });
    expect(byPath.get('/opt/app/version.txt')).toMatchObject({ kind: 'hardlink', linkTarget: '/opt/app/hard.txt' });
    expect(byPath.get('/opt/app/link.txt')).toMatchObject({ kind: 'symlink', linkTarget: 'version.txt' });
    expect(byPath.has('/etc')).toBe(false); // not a candidate
    const up = await walkDirLayer(upper, plan, { overlay: true });
    expect(up.whiteouts).toEqual(['/opt/gone']);
    expect(up.opaque).toEqual(['/opt/opaque']);
  });

  it('dirLayerTar writes overlay markers as tar whiteouts, and readImage merges them exactly', async () => {
    const { lower, upper } = overlayLayers();
    const names = await tarNames(dirLayerTar(upper, { overlay: true }));
    expect(names).toContain('file:opt/.wh.gone');
    expect(names).toContain('file:opt/opaque/.wh..wh..opq');
    const handle: ImageHandle = {
      ref: 'test',
      source: 'containerd-snapshot',
      digest: 'test',
      configDigest: 'test',
      config: { labels: {}, env: {}, diffIds: [] },
      layers: [dirLayerHandle(lower, 'dir:lower', { overlay: true }), dirLayerHandle(upper, 'dir:upper', { overlay: true })],
      refs: [],
      untrustedCacheScope: 'test',
      close: async () => {},
    };
    const { files } = await readImage(handle, plan, { cacheDir: null });
    expect(files.get('/opt/app/version.txt')?.content?.toString()).toBe('version=');
    expect(files.has('/opt/gone/product.txt')).toBe(false); // whited out
    expect(files.has('/opt/opaque/old.txt')).toBe(false); // under an opaque dir
    expect(files.get('/opt/opaque/new.txt')?.content?.toString()).toBe('new');
    expect(files.get('/etc/os-release')?.content?.toString()).toBe('ID=test\n');
    // The direct walk (walkDir: candidate bytes only) merges to the same view as the tar.
    const direct = mergeLayers(await Promise.all(handle.layers.map((l) => (l.bytes.kind === 'dir' ? l.bytes.walk(plan) : Promise.reject(new Error(`${l.digest} is no directory layer`))))), plan);
    const view = (m: Map<string, FileEntry>) => [...m.values()].map((e) => [e.path, e.kind, e.content?.toString() ?? null]).sort();
    expect(view(direct)).toEqual(view(files));
  });
});
