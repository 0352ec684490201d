/**
 * Image archives generated in code from a fixture (src/model/fixture.ts): docker-archive
 * (legacy `docker save` layout, or the OCI layout newer docker writes), OCI archive, OCI layout
 * directory, and multi-arch indexes. Output is deterministic (fixed mtimes, sorted keys), so the
 * same fixture always yields the same digests.
 *
 * zstd layers are made by the `zstd` binary (Debian package zstd): fzstd only decompresses, and
 * the real tool writes exactly what real registries serve.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Fixture, FixtureFile, FixtureLayer } from '../model/fixture.js';
import { tarArchive, tarEntry, tarEnd, type TarEntryInput } from './tar-write.js';
import type { LayerCompression } from './types.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export function sha256(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** Deterministic filler for size-only fixture files (text-like, so it compresses as real files do). */
export function fillerBytes(size: number, seed = 0): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf[i] = 0x61 + ((x >>> 16) % 26);
  }
  return buf;
}

function rel(path: string): string {
  return path.replace(/^\/+/, '');
}

function contentOf(f: FixtureFile): Buffer {
  if (f.base64 !== undefined) return Buffer.from(f.base64, 'base64');
  if (f.content !== undefined) return Buffer.from(f.content, 'utf8');
  return fillerBytes(f.size ?? 0, f.path.length);
}

/** The tar entries of one fixture layer, parents first, as `docker build` would write them. */
export function fixtureLayerEntries(layer: FixtureLayer): TarEntryInput[] {
  const out: TarEntryInput[] = [];
  const dirs = new Set<string>();
  const ensureParents = (path: string): void => {
    const parts = rel(path).split('/').slice(0, -1);
    let cur = '';
    for (const p of parts) {
      cur = cur ? `${cur}/${p}` : p;
      if (!dirs.has(cur)) {
        dirs.add(cur);
        out.push({ name: cur, type: 'dir' });
      }
    }
  };
  for (const dir of layer.opaque ?? []) {
    const d = rel(dir);
    ensureParents(`${d}/x`);
    out.push({ name: `${d}/.wh..wh..opq`, mode: 0o644 });
  }
  for (const path of layer.whiteouts ?? []) {
    ensureParents(path);
    const p = rel(path);
    const i = p.lastIndexOf('/');
    out.push({ name: `${p.slice(0, i + 1)}.wh.${p.slice(i + 1)}`, mode: 0o644 });
  }
  for (const f of layer.files ?? []) {
    ensureParents(f.path);
    const name = rel(f.path);
    if (f.dir) {
      if (!dirs.has(name)) {
        dirs.add(name);
        out.push({ name, type: 'dir', mode: f.mode });
      }
    } else if (f.symlink !== undefined) out.push({ name, type: 'symlink', linkname: f.symlink, mode: f.mode });
    else if (f.hardlink !== undefined) out.push({ name, type: 'hardlink', linkname: rel(f.hardlink), mode: f.mode });
    else out.push({ name, type: 'file', content: contentOf(f), mode: f.mode ?? 0o644 });
  }
  return out;
}

/** One fixture layer as an uncompressed tar (for `docker build`, the tracker tests, ...). */
export function fixtureLayerTar(layer: FixtureLayer): Buffer {
  return tarArchive(fixtureLayerEntries(layer));
}

export function compress(tar: Buffer, compression: LayerCompression): Buffer {
  if (compression === 'gzip') return gzipSync(tar, { level: 6 });
  if (compression === 'zstd') {
    return execFileSync('zstd', ['-q', '-c', '-3', '--no-progress'], { input: tar, maxBuffer: 1 << 30 });
  }
  return tar;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split('/');
  return variant ? { os, architecture, variant } : { os, architecture };
}

interface BuiltLayer {
  blob: Buffer;
  digest: string;
  diffId: string;
  mediaType: string;
  tar: Buffer;
}

interface BuiltImage {
  config: Buffer;
  configDigest: string;
  layers: BuiltLayer[];
  manifest: Buffer;
  manifestDigest: string;
  platform: Platform;
}

function stableJson(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function buildImage(fixture: Fixture, compression: LayerCompression, platform: Platform, rawTars?: Buffer[]): BuiltImage {
  const tars = rawTars ?? fixture.layers.map(fixtureLayerTar);
  const layers = tars.map((tar): BuiltLayer => {
    const blob = compress(tar, compression);
    const suffix = compression === 'none' ? '' : `+${compression}`;
    return { blob, tar, digest: sha256(blob), diffId: sha256(tar), mediaType: MEDIA.ociLayer + suffix };
  });
  const env = Object.entries(fixture.image.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const config = stableJson({
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: '1970-01-01T00:00:00Z',
    config: { Env: env, Labels: fixture.image.labels ?? {} },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: `kensus fixture ${fixture.signature}/${fixture.name}` })),
  });
  const configDigest = sha256(config);
  const manifest = stableJson({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
  });
  return { config, configDigest, layers, manifest, manifestDigest: sha256(manifest), platform };
}

/** Files of an archive or layout: relative path → bytes. */
type FileSet = Array<[string, Buffer]>;

function ociLayoutFiles(images: BuiltImage[], refName: string | undefined, multiArch: boolean, fullName?: string): FileSet {
  const blobs = new Map<string, Buffer>();
  for (const img of images) {
    blobs.set(img.configDigest, img.config);
    blobs.set(img.manifestDigest, img.manifest);
    for (const l of img.layers) blobs.set(l.digest, l.blob);
  }
  // As docker >= 25 and buildx write them: the tag in ref.name, the full name for containerd.
  const annotations = refName
    ? { 'org.opencontainers.image.ref.name': refName, ...(fullName ? { 'io.containerd.image.name': fullName } : {}) }
    : undefined;
  const descriptors = images.map((img) => ({
    mediaType: MEDIA.ociManifest,
    digest: img.manifestDigest,
    size: img.manifest.length,
    ...(multiArch ? { platform: img.platform } : {}),
  }));
  let top: unknown[];
  if (multiArch) {
    // Nested, as buildx writes it: index.json → image index → per-platform manifests.
    const nested = stableJson({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: descriptors });
    blobs.set(sha256(nested), nested);
    top = [{ mediaType: MEDIA.ociIndex, digest: sha256(nested), size: nested.length, ...(annotations ? { annotations } : {}) }];
  } else {
    top = descriptors.map((d) => ({ ...d, ...(annotations ? { annotations } : {}) }));
  }
  const files: FileSet = [
    ['oci-layout', stableJson({ imageLayoutVersion: '1.0.0' })],
    ['index.json', stableJson({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: top })],
  ];
  for (const [d, b] of [...blobs].sort(([a], [b]) => a.localeCompare(b))) files.push([`blobs/sha256/${hex(d)}`, b]);
  return files;
}

function refTag(fixture: Fixture): string | undefined {
  const ref = fixture.image.refs?.[0];
  if (!ref) return undefined;
  const at = ref.indexOf('@');
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(colon + 1) : 'latest';
}

function fullRef(fixture: Fixture): string | undefined {
  return fixture.image.refs?.find((r) => !r.includes('@'));
}

async function writeTarFile(path: string, files: FileSet): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'w');
  try {
    const dirs = new Set<string>();
    for (const [name, bytes] of files) {
      const parts = name.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) {
          dirs.add(d);
          for (const b of tarEntry({ name: d, type: 'dir' })) await fh.write(b);
        }
      }
      for (const b of tarEntry({ name, content: bytes })) await fh.write(b);
    }
    await fh.write(tarEnd());
  } finally {
    await fh.close();
  }
}

async function writeDir(dir: string, files: FileSet): Promise<void> {
  for (const [name, bytes] of files) {
    const p = join(dir, name);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, bytes);
  }
}

export interface WriteOptions {
  compression?: LayerCompression;
  /** linux/amd64 unless told. */
  platform?: string;
}

export interface DockerArchiveOptions extends WriteOptions {
  /** 'legacy': <id>/layer.tar + manifest.json (docker < 25); 'oci': the OCI layout docker >= 25 writes. */
  format?: 'legacy' | 'oci';
}

/** A `docker save` tar of the fixture; layers uncompressed unless `compression` says otherwise. */
export async function writeDockerArchive(fixture: Fixture, path: string, options: DockerArchiveOptions = {}): Promise<void> {
  await writeDockerArchiveOf(buildImage(fixture, options.compression ?? 'none', parsePlatform(options.platform ?? 'linux/amd64')), fixture, path, options);
}

async function writeDockerArchiveOf(img: BuiltImage, fixture: Fixture, path: string, options: DockerArchiveOptions): Promise<void> {
  const repoTags = (fixture.image.refs ?? []).filter((r) => !r.includes('@'));
  let files: FileSet;
  if (options.format === 'oci') {
    files = ociLayoutFiles([img], refTag(fixture), false, fullRef(fixture));
    const manifest = [
      {
        Config: `blobs/sha256/${hex(img.configDigest)}`,
        RepoTags: repoTags,
        Layers: img.layers.map((l) => `blobs/sha256/${hex(l.digest)}`),
      },
    ];
    files.push(['manifest.json', stableJson(manifest)]);
  } else {
    files = [];
    for (const l of img.layers) {
      const id = hex(l.diffId);
      files.push([`${id}/VERSION`, Buffer.from('1.0')]);
      files.push([`${id}/json`, stableJson({ id })]);
      files.push([`${id}/layer.tar`, l.blob]);
    }
    files.push([`${hex(img.configDigest)}.json`, img.config]);
    const manifest = [
      { Config: `${hex(img.configDigest)}.json`, RepoTags: repoTags, Layers: img.layers.map((l) => `${hex(l.diffId)}/layer.tar`) },
    ];
    files.push(['manifest.json', stableJson(manifest)]);
  }
  await writeTarFile(path, files);
}

/** An OCI image layout packed in a tar (`oci-archive:`). */
export async function writeOciArchive(fixture: Fixture, path: string, options: WriteOptions = {}): Promise<void> {
  const img = buildImage(fixture, options.compression ?? 'gzip', parsePlatform(options.platform ?? 'linux/amd64'));
  await writeTarFile(path, ociLayoutFiles([img], refTag(fixture), false, fullRef(fixture)));
}

/** An OCI image layout directory (`oci:DIR`). */
export async function writeOciLayout(fixture: Fixture, dir: string, options: WriteOptions = {}): Promise<void> {
  const img = buildImage(fixture, options.compression ?? 'gzip', parsePlatform(options.platform ?? 'linux/amd64'));
  await writeDir(dir, ociLayoutFiles([img], refTag(fixture), false, fullRef(fixture)));
}

/**
 * A multi-arch image: index.json → image index → one manifest per platform, e.g.
 * `{ 'linux/amd64': withProduct, 'linux/arm64': without }`. Written as a layout directory, or
 * as an OCI archive when `path` ends in `.tar`.
 */
export async function writeMultiArch(
  byPlatform: Record<string, Fixture>,
  path: string,
  options: { compression?: LayerCompression } = {},
): Promise<void> {
  const images = Object.entries(byPlatform).map(([p, f]) => buildImage(f, options.compression ?? 'gzip', parsePlatform(p)));
  const first = Object.values(byPlatform)[0];
  const files = ociLayoutFiles(images, first ? refTag(first) : undefined, true, first ? fullRef(first) : undefined);
  if (path.endsWith('.tar')) await writeTarFile(path, files);
  else await writeDir(path, files);
}

export interface RawImageOptions {
  format: 'docker-archive' | 'oci-archive' | 'oci';
  compression?: LayerCompression;
  image?: Fixture['image'];
  /** docker-archive only. */
  dockerFormat?: 'legacy' | 'oci';
}

/**
 * An image from hand-made layer tars (tests of odd or hostile archives, benchmarks with large
 * layers): the same writers as for fixtures, the layers taken as given.
 */
export async function writeRawImage(layerTars: Buffer[], path: string, options: RawImageOptions): Promise<void> {
  const fixture: Fixture = { name: 'raw', signature: 'raw', description: 'raw layers', image: options.image ?? {}, layers: [], expect: [] };
  const compression = options.compression ?? (options.format === 'docker-archive' ? 'none' : 'gzip');
  const img = buildImage(fixture, compression, parsePlatform('linux/amd64'), layerTars);
  if (options.format === 'docker-archive') await writeDockerArchiveOf(img, fixture, path, { format: options.dockerFormat });
  else if (options.format === 'oci-archive') await writeTarFile(path, ociLayoutFiles([img], refTag(fixture), false, fullRef(fixture)));
  else await writeDir(path, ociLayoutFiles([img], refTag(fixture), false, fullRef(fixture)));
}

/**
 * The multi-arch form of one fixture: the fixture as `productOn` (linux/amd64 by default) and a
 * product-less sibling (same labels and env, a base layer only) as the other platform, so a
 * scan proves it read the platform it was asked for.
 */
export async function writeMultiArchFixture(
  fixture: Fixture,
  path: string,
  options: { compression?: LayerCompression; productOn?: string; other?: string } = {},
): Promise<void> {
  const productOn = options.productOn ?? 'linux/amd64';
  const other = options.other ?? (productOn === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64');
  const sibling: Fixture = {
    ...fixture,
    name: `${fixture.name}-${other.replace(/\//g, '-')}`,
    layers: [{ files: [{ path: '/etc/os-release', content: `ID=kensus-fixture-base\nPLATFORM=${other}\n` }] }],
  };
  await writeMultiArch({ [productOn]: fixture, [other]: sibling }, path, { compression: options.compression });
}
