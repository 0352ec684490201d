import type { Readable } from 'node:stream';
import type { FileEntry, ProbePlan } from '../model/entry.js';

/** How a layer's bytes are stored. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** What one layer contributes to the merged view; also what the layer cache stores. */
export interface LayerResult {
  /** Kept entries (candidates, symlinks, hard links), tar order, last one per path wins. */
  entries: FileEntry[];
  /** Paths this layer deletes from lower layers (`.wh.NAME`). */
  whiteouts: string[];
  /** Directories this layer makes opaque (`.wh..wh..opq`): lower children are dropped. */
  opaque: string[];
  /** Entries dropped or oddities seen (names escaping the root, ...). */
  warnings: string[];
}

/**
 * How a layer's bytes are read; the walker switches on `kind`, so the compiler checks every way:
 * - `file-region`: the stored blob is a region of a local file (docker-archive, OCI archive or
 *   layout): an uncompressed one is walked by seeking over bodies, never reading them;
 * - `stream`: the stored blob (possibly compressed) as a stream, read once (registry, containerd);
 * - `dir`: a directory tree (an unpacked containerd snapshot, a live /proc/PID/root) that walks
 *   itself through the plan, reading only the candidates' bytes; not digest-checked;
 * - `read-once`: a member of a source readable only once (a pipe, the Docker save stream), walked
 *   by `ImageHandle.readOnce` as it arrives; `member` names the blob walked for this layer.
 */
export type LayerBytes =
  | { kind: 'file-region'; path: string; offset: number; length: number }
  | { kind: 'stream'; open(): Promise<Readable> }
  | { kind: 'dir'; walk(plan: ProbePlan): Promise<LayerResult> }
  | { kind: 'read-once'; member: string };

/** One layer as a source offers it. */
export interface LayerHandle {
  /** Digest of the stored blob as the manifest names it (sha256:...). */
  digest: string;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry), when known. */
  diffId?: string;
  mediaType: string;
  compression: LayerCompression;
  /** Size of the stored blob in bytes, when known. */
  size?: number;
  /**
   * What `digest` hashes: the stored blob (default), or the uncompressed tar (a compressed
   * layer inside a legacy docker-archive, known only by its diff_id).
   */
  digestOf?: 'stored' | 'uncompressed';
  bytes: LayerBytes;
}

/** The parts of an OCI/Docker image config Kensus uses. */
export interface ImageConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  diffIds: string[];
  created?: string;
}

/** An image a source has resolved and can read. */
export interface ImageHandle {
  /** The REF as the user gave it. */
  ref: string;
  /** Which source resolved it: docker-archive, oci-archive, oci, docker, containerd, registry, host. */
  source: string;
  /** Manifest digest (or, for a docker-archive without one, the config digest). */
  digest: string;
  configDigest: string;
  config: ImageConfig;
  /** Bottom to top. */
  layers: LayerHandle[];
  /** Names the image is known by (RepoTags, annotations). */
  refs: string[];
  /**
   * Identity for caching layers whose digest was not checked: e.g. the archive file's
   * path+size+mtime. A lying archive must not poison the cache for other images.
   */
  untrustedCacheScope: string;
  /**
   * For a source readable only once, in order (a pipe, /dev/stdin): reads it all, handing each
   * layer blob to `walk` as it arrives. When it resolves, digest, config and layers are filled
   * in (each layer's `read-once` bytes name the blob walked for it), with every digest checked
   * against the hashes `walk` returned.
   */
  readOnce?(
    walk: (name: string, blob: Readable, compression: LayerCompression) => Promise<{ storedDigest: string; tarDigest?: string }>,
  ): Promise<void>;
  close(): Promise<void>;
}

export interface OpenImageOptions {
  /** linux/amd64 by default; for multi-arch indexes. */
  platform?: string;
  /** Hash every layer even when skip-reading it. */
  verify?: boolean;
  /** Where the live sources are and how to reach them (CLI flags); defaults where not given. */
  live?: LiveSourceSettings;
}

/** The Docker engine source's settings. */
export interface DockerSettings {
  /** DOCKER_HOST-style address (unix:///path or tcp://host:port); default $DOCKER_HOST or the standard socket. */
  host?: string;
  /** Request timeout; 0 for none (exec sessions, which last as long as the tracker runs). */
  timeoutMs: number;
}

/** The containerd source's settings. */
export interface ContainerdSettings {
  address: string;
  namespace: string;
  /** 'auto': snapshots only when layer blobs are missing; 'always': node-local read. */
  snapshots: 'auto' | 'always' | 'never';
  timeoutMs: number;
}

/** The registry source's settings. */
export interface RegistrySettings {
  /** Registries allowed over plain HTTP (host:port), or true for all. Loopback is always allowed. */
  insecureRegistries: string[] | boolean;
  /** Kubernetes dockerconfigjson secrets (files) whose credentials are tried. */
  pullSecrets: string[];
  /** docker config.json (default $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  dockerConfig?: string;
  /** Connect / idle timeout per request (ms). */
  timeoutMs: number;
  /** Retries after 429 / 502 / 503 / 504. */
  maxRetries: number;
  /** Longest Retry-After honoured; a longer one fails at once. */
  maxRetryWaitMs: number;
  /** Layer blobs fetched at once per registry. */
  concurrency: number;
  /**
   * Registry host → the host:port actually asked (a pull-through mirror, an air-gapped copy):
   * the image keeps its name (nvcr.io/...), the traffic goes to the mirror only.
   */
  mirrors: Record<string, string>;
}

/** Settings of the live sources, passed down with every open (no module state): each reads its part. */
export interface LiveSourceSettings {
  docker?: Partial<DockerSettings>;
  containerd?: Partial<ContainerdSettings>;
  registry?: Partial<RegistrySettings>;
}

/** Whether a source has an image; when not, why not (socket missing, permission denied, 404, ...). */
export type ImagePresence = { found: true } | { found: false; reason: string };

/**
 * A source is one file under src/sources/ exporting this, and one line in the list of
 * src/sources/index.ts. It says how its REFs look and how bare names reach it; the REF forms,
 * the bare-name order and the path sniffing are derived from the list.
 */
export interface ImageSource {
  /** The REF prefix, e.g. 'docker-archive'. */
  readonly scheme: string;
  /** What follows the prefix: a file PATH, a layout DIR, or an image NAME. */
  readonly form: 'PATH' | 'DIR' | 'NAME';
  /** What may follow the form in a REF, for the help text: e.g. '[:TAG]'. */
  readonly formSuffix?: string;
  /** Bare NAMEs are looked up in the sources that have this, lowest first. */
  readonly bareNameOrder?: number;
  /** For bare paths: does this existing local path hold this source's kind of image? Cheap; never throws. */
  sniff?(path: string): Promise<boolean>;
  /**
   * Resolves a reference (without the prefix); `ref` is the REF as the user gave it, when that
   * was a bare name. Throws KensusError for bad/unreachable refs.
   */
  open(name: string, options: OpenImageOptions, ref?: string): Promise<ImageHandle>;
  /** For bare NAMEs: does this source have the image, and if not why not? Must be cheap and never throw. */
  has?(name: string, options: OpenImageOptions): Promise<ImagePresence>;
}
