/**
 * OCI image layout resolution over a blob store: index.json → (nested indexes →) the manifest
 * for the wanted platform → config and layers. Every index, manifest and config is checked
 * against its digest (small files, always); layers are checked by the walker as it reads them.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { badInput } from '../errors.js';
import { parseJson, type BlobStore, type FileRegion } from './blob-store.js';
import type { ImageConfig, LayerCompression, LayerHandle } from './types.js';
import { sniffCompression } from './inflate.js';

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

interface IndexDoc {
  mediaType?: string;
  manifests?: Descriptor[];
}

interface ManifestDoc {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

export interface RawConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  created?: string;
  config?: { Labels?: Record<string, string> | null; Env?: string[] | null };
  rootfs?: { diff_ids?: string[] };
}

export interface ResolvedImage {
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  layers: LayerHandle[];
  refs: string[];
}

/** The sha256 digest that names bytes in OCI and Docker images: "sha256:<hex>". */
export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The media types Kensus reads and writes (OCI image spec, Docker distribution manifest v2). */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** Reads a JSON blob by digest and checks the digest. */
export async function readBlobJson<T>(store: BlobStore, digest: string, what: string): Promise<T> {
  if (!DIGEST_RE.test(digest)) throw badInput(`${store.describe}: ${what} has an invalid digest "${digest}"`);
  const buf = await store.readSmall(blobPath(digest));
  if (!buf) throw badInput(`${store.describe}: the ${what} ${digest} is missing (no ${blobPath(digest)})`, 'the image is incomplete; recreate it');
  const got = sha256(buf);
  if (got !== digest) {
    throw badInput(`${store.describe}: the ${what} ${digest} hashes to ${got}`, 'the image is corrupt or was tampered with; recreate it');
  }
  return parseJson<T>(buf, `${store.describe}: ${what} ${digest}`);
}

export function configFromRaw(raw: RawConfig): ImageConfig {
  const env: Record<string, string> = {};
  for (const kv of raw.config?.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    os: raw.os,
    architecture: raw.architecture,
    variant: raw.variant,
    created: raw.created,
    labels: { ...(raw.config?.Labels ?? {}) },
    env,
    diffIds: raw.rootfs?.diff_ids ?? [],
  };
}

function sniffRegion(region: FileRegion): LayerCompression | undefined {
  const head = Buffer.alloc(4);
  const fd = openSync(region.path, 'r');
  try {
    readSync(fd, head, 0, Math.min(4, region.length), region.offset);
  } finally {
    closeSync(fd);
  }
  return sniffCompression(head);
}

/**
 * A layer handle for a local file region. Compression is sniffed from the bytes (media types
 * lie: docker save labels uncompressed layers ".tar.gzip" in places): no magic means a plain tar.
 */
export function regionLayer(region: FileRegion, desc: { mediaType: string; digest: string; diffId?: string; digestOf?: 'stored' | 'uncompressed' }): LayerHandle {
  const sniffed = region.length >= 4 ? sniffRegion(region) : undefined;
  const compression = sniffed ?? 'none';
  return {
    digest: desc.digest,
    diffId: desc.diffId,
    mediaType: desc.mediaType,
    compression,
    size: region.length,
    digestOf: desc.digestOf,
    bytes: { kind: 'file-region', ...region },
  };
}

function isIndex(mediaType: string | undefined, doc: ManifestDoc): boolean {
  return mediaType === 'application/vnd.oci.image.index.v1+json' || mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json' || (!!doc.manifests && !doc.layers);
}

export interface Wanted {
  /** os/arch[/variant]; linux/amd64 by default. */
  platform: string;
  tag?: string;
  digest?: string;
}

function platformString(p: Descriptor['platform']): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function matchesPlatform(p: Descriptor['platform'], want: string): boolean {
  if (!p) return false;
  const [os, arch, variant] = want.split('/');
  if (p.os !== os || p.architecture !== arch) return false;
  return !variant || p.variant === variant || (!p.variant && (variant === 'v8' || variant === 'v7'));
}

/** Picks one manifest out of an index, descending into nested indexes. */
async function pickManifest(store: BlobStore, manifests: Descriptor[], want: Wanted, depth: number): Promise<{ desc: Descriptor; doc: ManifestDoc }> {
  if (depth > 4) throw badInput(`${store.describe}: image indexes nested more than 4 deep`);
  let candidates = manifests;
  if (manifests.length > 1) {
    const match = manifests.filter((m) => matchesPlatform(m.platform, want.platform));
    const unplatformed = manifests.filter((m) => !m.platform);
    if (match.length) candidates = match;
    else if (unplatformed.length === 1) candidates = unplatformed;
    else if (unplatformed.length === 0) {
      const have = manifests.map((m) => platformString(m.platform)).filter((p) => !p.startsWith('unknown'));
      throw badInput(
        `${store.describe}: no image for platform ${want.platform}; the index has ${have.join(', ') || 'none'}`,
        'pick one with --platform OS/ARCH',
      );
    } else {
      throw badInput(
        `${store.describe} holds ${unplatformed.length} images and says nothing to choose between them (${unplatformed.map((m) => m.digest.slice(0, 19)).join(', ')})`,
        'pick one by digest: oci:DIR@sha256:...',
      );
    }
  }
  if (candidates.length === 0) throw badInput(`${store.describe}: the image index lists no manifests`);
  const desc = candidates[0];
  const doc = await readBlobJson<ManifestDoc>(store, desc.digest, 'manifest');
  if (isIndex(desc.mediaType ?? doc.mediaType, doc)) return pickManifest(store, doc.manifests ?? [], want, depth + 1);
  return { desc, doc };
}

/** Resolves the image an OCI layout (directory or archive) holds. */
export async function resolveOciLayout(store: BlobStore, want: Wanted): Promise<ResolvedImage> {
  const indexBuf = await store.readSmall('index.json');
  if (!indexBuf) throw badInput(`${store.describe} has no index.json: not an OCI image layout`, 'give an OCI layout (skopeo copy ... oci:DIR, buildx --output type=oci)');
  const index = parseJson<IndexDoc>(indexBuf, `${store.describe}: index.json`);
  let top = index.manifests ?? [];
  const refName = (d: Descriptor) => d.annotations?.['org.opencontainers.image.ref.name'];
  if (want.digest) {
    top = top.filter((d) => d.digest === want.digest);
    if (!top.length) throw badInput(`${store.describe}: no manifest ${want.digest} in index.json`);
  } else if (want.tag) {
    const fullName = (d: Descriptor) => d.annotations?.['io.containerd.image.name'];
    const tagged = top.filter((d) => refName(d) === want.tag || refName(d)?.endsWith(`:${want.tag}`) || fullName(d) === want.tag);
    if (!tagged.length) {
      const tags = top.map(refName).filter(Boolean);
      throw badInput(`${store.describe}: no image tagged "${want.tag}"; the layout has ${tags.join(', ') || 'no tags'}`);
    }
    top = tagged;
  } else {
    const names = new Set(top.map(refName).filter(Boolean));
    if (names.size > 1) {
      throw badInput(`${store.describe} holds ${names.size} images (${[...names].join(', ')})`, 'pick one with oci:DIR:TAG');
    }
  }
  const { desc, doc } = await pickManifest(store, top, want, 0);
  if (!doc.config?.digest) throw badInput(`${store.describe}: manifest ${desc.digest} names no config`);
  const rawConfig = await readBlobJson<RawConfig>(store, doc.config.digest, 'config');
  const config = configFromRaw(rawConfig);
  const layerDescs = doc.layers ?? [];
  if (config.diffIds.length && config.diffIds.length !== layerDescs.length) {
    throw badInput(`${store.describe}: the manifest lists ${layerDescs.length} layers but the config ${config.diffIds.length} diff_ids`, 'the image is corrupt; recreate it');
  }
  const layers: LayerHandle[] = [];
  for (let i = 0; i < layerDescs.length; i++) {
    const d = layerDescs[i];
    if (!DIGEST_RE.test(d.digest)) throw badInput(`${store.describe}: layer ${i + 1} has an invalid digest "${d.digest}"`);
    const region = await store.region(blobPath(d.digest));
    if (!region) {
      throw badInput(`${store.describe}: the manifest names layer ${d.digest}, which is missing (no ${blobPath(d.digest)})`, 'the image is incomplete; recreate it');
    }
    layers.push(regionLayer(region, { mediaType: d.mediaType ?? 'application/vnd.oci.image.layer.v1.tar', digest: d.digest, diffId: config.diffIds[i] }));
  }
  // The full name (docker >= 25, buildx, containerd) beats the bare tag of ref.name.
  const refs = top.map((d) => d.annotations?.['io.containerd.image.name'] ?? refName(d)).filter((r): r is string => !!r);
  return { manifestDigest: desc.digest, configDigest: doc.config.digest, config, layers, refs };
}
