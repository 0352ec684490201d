/**
 * Builds the benchmark's layers and image archives into the cache dir, streaming: layer tars
 * are written block by block, compressed by pigz/zstd through pipes, and copied into archives
 * in 4 MiB pieces. Everything is keyed by content ids, so a second run reuses what exists.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import type { LayerSpec } from './layers.js';
import { TarFileWriter } from './tar.js';
import { hasCommand } from './tools.js';

export interface BlobFile {
  path: string;
  digest: string;
  size: number;
}

export interface LayerFiles {
  id: string;
  tar: BlobFile; // digest = diffId
  gzip: BlobFile;
  zstd: BlobFile;
}

export interface ImageSpec {
  name: string;
  layers: LayerSpec[];
  labels?: Record<string, string>;
  env?: string[];
}

export type ArchiveKind = 'docker' | 'oci-gzip' | 'oci-zstd';

export interface BuiltImage {
  name: string;
  layers: LayerFiles[];
  archives: Record<ArchiveKind, string>;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Pipes `input` through a command (or a Node transform) into `out`, hashing the output. */
async function compressFile(input: string, out: string, kind: 'gzip' | 'zstd', fast = false): Promise<BlobFile> {
  const tmp = out + '.tmp';
  const fd = openSync(tmp, 'w');
  const hash = createHash('sha256');
  let size = 0;
  const sink = (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
  };
  try {
    if (kind === 'gzip' && !hasCommand('pigz')) {
      // fallback: Node's own gzip, same format (level 6 like gzip's default)
      await new Promise<void>((resolve, reject) => {
        const gz = createGzip({ level: fast ? 1 : 6 });
        gz.on('data', sink).on('end', resolve).on('error', reject);
        createReadStream(input).on('error', reject).pipe(gz);
      });
    } else {
      const [cmd, args] = kind === 'gzip' ? ['pigz', [fast ? '-1' : '-6', '-n', '-c', input]] : ['zstd', [fast ? '-1' : '-3', '-T0', '-q', '-c', input]];
      await new Promise<void>((resolve, reject) => {
        const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
        p.stdout.on('data', sink);
        p.on('error', reject);
        p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code} compressing ${input}`))));
      });
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  return { path: out, digest: 'sha256:' + hash.digest('hex'), size };
}

/** The layer's tar and its gzip and zstd blobs, generated once into `cache/layers`. */
export async function ensureLayer(cache: string, spec: LayerSpec): Promise<LayerFiles> {
  const dir = join(cache, 'layers');
  mkdirSync(dir, { recursive: true });
  const metaPath = join(dir, `${spec.id}.json`);
  if (existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as LayerFiles;
    if (existsSync(meta.tar.path) && existsSync(meta.gzip.path) && existsSync(meta.zstd.path)) return meta;
  }
  const tarPath = join(dir, `${spec.id}.tar`);
  const w = new TarFileWriter(tarPath + '.tmp');
  await spec.write(w);
  const { size, sha256 } = w.end();
  renameSync(tarPath + '.tmp', tarPath);
  const tar = { path: tarPath, digest: 'sha256:' + sha256, size };
  const [gzip, zstd] = await Promise.all([compressFile(tarPath, tarPath + '.gz', 'gzip', spec.fast), compressFile(tarPath, tarPath + '.zst', 'zstd', spec.fast)]);
  const meta: LayerFiles = { id: spec.id, tar, gzip, zstd };
  writeFileSync(metaPath, JSON.stringify(meta, null, 1));
  return meta;
}

/** Copies a whole file into the archive as one entry body, 4 MiB at a time. */
function addFileEntry(w: TarFileWriter, path: string, blob: BlobFile): void {
  w.begin({ path, type: 'file', mode: 0o644, size: blob.size });
  const fd = openSync(blob.path, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      w.body(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  w.endBody(blob.size);
}

function imageConfig(spec: ImageSpec, layers: LayerFiles[]): Buffer {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '2023-11-14T22:13:20Z',
    config: { Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Labels: spec.labels ?? {} },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.tar.digest) },
    history: layers.map((l) => ({ created: '2023-11-14T22:13:20Z', created_by: `kensus-bench ${l.id}` })),
  };
  return Buffer.from(JSON.stringify(config));
}

/** A `docker save` archive (classic layout: manifest.json last, as docker writes it). */
export function writeDockerArchive(spec: ImageSpec, layers: LayerFiles[], out: string): void {
  const w = new TarFileWriter(out + '.tmp', false);
  const config = imageConfig(spec, layers);
  const configName = `${sha(config)}.json`;
  const paths: string[] = [];
  for (const l of layers) {
    const hex = l.tar.digest.slice(7);
    if (paths.includes(`${hex}/layer.tar`)) continue;
    w.add({ path: `${hex}/`, type: 'dir', mode: 0o755 });
    w.add({ path: `${hex}/VERSION`, type: 'file', mode: 0o644 }, Buffer.from('1.0'));
    addFileEntry(w, `${hex}/layer.tar`, l.tar);
    paths.push(`${hex}/layer.tar`);
  }
  w.add({ path: configName, type: 'file', mode: 0o644 }, config);
  const tag = `kensus-bench/${spec.name}:latest`;
  const manifest = [{ Config: configName, RepoTags: [tag], Layers: layers.map((l) => `${l.tar.digest.slice(7)}/layer.tar`) }];
  w.add({ path: 'manifest.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(manifest)));
  w.add({ path: 'repositories', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify({ [`kensus-bench/${spec.name}`]: { latest: layers[layers.length - 1].tar.digest.slice(7) } })));
  w.end();
  renameSync(out + '.tmp', out);
}

/** An OCI image layout in a tar, layers compressed as `compression`. */
export function writeOciArchive(spec: ImageSpec, layers: LayerFiles[], compression: 'gzip' | 'zstd', out: string): void {
  const w = new TarFileWriter(out + '.tmp', false);
  const config = imageConfig(spec, layers);
  const blobs = layers.map((l) => l[compression]);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
      layers: blobs.map((b) => ({ mediaType: `application/vnd.oci.image.layer.v1.tar+${compression}`, digest: b.digest, size: b.size })),
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${sha(manifest)}`,
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'org.opencontainers.image.ref.name': 'latest', 'io.containerd.image.name': `kensus-bench/${spec.name}:latest` },
        },
      ],
    }),
  );
  w.add({ path: 'blobs/', type: 'dir', mode: 0o755 });
  w.add({ path: 'blobs/sha256/', type: 'dir', mode: 0o755 });
  const written = new Set<string>();
  for (const b of blobs) {
    if (written.has(b.digest)) continue;
    written.add(b.digest);
    addFileEntry(w, `blobs/sha256/${b.digest.slice(7)}`, b);
  }
  w.add({ path: `blobs/sha256/${sha(config)}`, type: 'file', mode: 0o644 }, config);
  w.add({ path: `blobs/sha256/${sha(manifest)}`, type: 'file', mode: 0o644 }, manifest);
  w.add({ path: 'index.json', type: 'file', mode: 0o644 }, index);
  w.add({ path: 'oci-layout', type: 'file', mode: 0o644 }, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  w.end();
  renameSync(out + '.tmp', out);
}

/**
 * The archives of an image, built only when missing or when a layer changed. Only the `kinds`
 * asked for are written (the scaling series needs just the docker archive of a 4 GB image).
 */
export async function ensureImage(cache: string, spec: ImageSpec, kinds: ArchiveKind[] = ['docker', 'oci-gzip', 'oci-zstd']): Promise<BuiltImage> {
  const layers: LayerFiles[] = [];
  for (const l of spec.layers) layers.push(await ensureLayer(cache, l));
  const dir = join(cache, 'images');
  mkdirSync(dir, { recursive: true });
  const key = sha(JSON.stringify({ spec: spec.name, labels: spec.labels, env: spec.env, layers: layers.map((l) => [l.tar.digest, l.gzip.digest, l.zstd.digest]) })).slice(0, 12);
  const archives: Record<ArchiveKind, string> = {
    docker: join(dir, `${spec.name}-${key}.docker.tar`),
    'oci-gzip': join(dir, `${spec.name}-${key}.oci-gzip.tar`),
    'oci-zstd': join(dir, `${spec.name}-${key}.oci-zstd.tar`),
  };
  if (kinds.includes('docker') && !existsSync(archives.docker)) writeDockerArchive(spec, layers, archives.docker);
  if (kinds.includes('oci-gzip') && !existsSync(archives['oci-gzip'])) writeOciArchive(spec, layers, 'gzip', archives['oci-gzip']);
  if (kinds.includes('oci-zstd') && !existsSync(archives['oci-zstd'])) writeOciArchive(spec, layers, 'zstd', archives['oci-zstd']);
  return { name: spec.name, layers, archives };
}

