import type { ImageConfig, ImagePresence, LayerCompression } from '../image/types.js';
import { unreachable } from '../errors.js';
import { MEDIA_TYPES, sha256 } from '../image/oci.js';

/** Helpers shared by the live sources (docker, containerd, registry, host). */


export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface Manifest {
  mediaType?: string;
  schemaVersion?: number;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}


/** Throws (exit 3) when bytes do not hash to the digest that names them. */
export function checkDigest(data: Buffer, digest: string, what: string): void {
  if (!digest.startsWith('sha256:')) return; // other algorithms: not offered by any source Kensus reads
  const got = sha256(data);
  if (got !== digest) throw unreachable(`${what}: content digest ${got} does not match ${digest}`, 'the source returned corrupted or substituted data');
}

export function isIndex(m: Manifest, mediaType?: string): boolean {
  const t = mediaType ?? m.mediaType;
  return t === MEDIA_TYPES.ociIndex || t === MEDIA_TYPES.dockerList || (!t && Array.isArray(m.manifests));
}

export function compressionOf(mediaType: string): LayerCompression {
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return 'zstd';
  if (mediaType.endsWith('gzip') || mediaType.endsWith('.tar.gzip') || mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip') return 'gzip';
  return 'none';
}

export function parsePlatform(p?: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = (p ?? 'linux/amd64').split('/');
  return { os: os || 'linux', architecture: architecture || 'amd64', variant: variant || undefined };
}

/** Picks the manifest for the platform asked for from an index; undefined when none fits. */
export function pickPlatform(index: Manifest, platform?: string): Descriptor | undefined {
  const want = parsePlatform(platform);
  const list = (index.manifests ?? []).filter((m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture);
  if (want.variant) return list.find((m) => m.platform?.variant === want.variant) ?? list[0];
  return list.find((m) => !m.platform?.variant) ?? list[0];
}

export function platformsOf(index: Manifest): string {
  return (index.manifests ?? [])
    .map((m) => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/'))
    .join(', ');
}

function kv(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(list)) {
    for (const item of list) {
      if (typeof item !== 'string') continue;
      const i = item.indexOf('=');
      if (i > 0) out[item.slice(0, i)] = item.slice(i + 1);
    }
  }
  return out;
}

/** The parts of an OCI/Docker image config JSON that Kensus uses. */
export function parseImageConfig(raw: unknown): ImageConfig {
  const c = (raw ?? {}) as Record<string, any>;
  const cfg = (c.config ?? c.Config ?? {}) as Record<string, any>;
  const rootfs = (c.rootfs ?? c.RootFS ?? {}) as Record<string, any>;
  return {
    os: c.os ?? c.Os,
    architecture: c.architecture ?? c.Architecture,
    variant: c.variant ?? c.Variant,
    labels: { ...((cfg.Labels ?? {}) as Record<string, string>) },
    env: kv(cfg.Env),
    diffIds: Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids : Array.isArray(rootfs.Layers) ? rootfs.Layers : [],
    created: c.created ?? c.Created,
  };
}

/** A live source's answer when it does not have an image: the reason, in its own words (socket missing, permission denied, 404). */
export function absent(err: unknown): ImagePresence {
  return { found: false, reason: err instanceof Error ? err.message : String(err) };
}
