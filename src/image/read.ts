/**
 * Reads one image through a probe plan: each layer is walked (or taken from the layer cache),
 * then the per-layer results are merged bottom to top into the view the matcher sees.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { FileEntry, ProbePlan } from '../model/entry.js';
import { LayerCache, layerCacheKey } from './layer-cache.js';
import { mergeLayers } from './merge.js';
import type { ImageHandle, LayerHandle } from './types.js';
import type { LayerResult } from './types.js';
import { walkLayer, walkTarStream } from './walk-layer.js';
import { mapLimit } from '../util/concurrency.js';

export interface ReadImageOptions {
  /** Layer cache directory; null disables the cache; undefined uses the default directory. */
  cacheDir?: string | null;
  /** Hash every layer, even uncompressed local ones that would be skip-read. */
  verify?: boolean;
  /** Cap on bytes one layer may inflate to (see walk-layer.ts). */
  maxLayerBytes?: number;
  /** Layers walked at once (default: layerConcurrency()). */
  concurrency?: number;
  /** Called when a layer is done (walked or from the cache): for a progress line; never changes the result. */
  onLayer?: (progress: LayerProgress) => void;
}

export interface LayerProgress {
  done: number;
  total: number;
  /** Bytes read so far (stored bytes: compressed where the layer is). */
  bytesRead: number;
  /** The layer just finished. */
  digest: string;
}

export interface ReadImageResult {
  files: Map<string, FileEntry>;
  labels: Record<string, string>;
  env: Record<string, string>;
  refs: string[];
  /** Entries dropped or oddities seen while reading (names escaping the root, ...). */
  warnings: string[];
  stats: { layers: number; layersFromCache: number; bytesRead: number };
}

/**
 * Layers walked at once by default: gzip inflates on libuv's thread pool and zstd in its own
 * processes, so compressed layers use as many cores as run at once; at least 4 (registry layers
 * wait on the network more than on a core), at most 8 (each walk holds ~1.5 MiB of buffers).
 */
export function layerConcurrency(): number {
  return Math.max(4, Math.min(8, availableParallelism()));
}

async function untrustedScope(handle: ImageHandle, layer: LayerHandle): Promise<string> {
  if (layer.bytes.kind !== 'file-region') return handle.untrustedCacheScope;
  const region = layer.bytes;
  // The blob file's own identity too: an OCI layout's blob may be replaced in place.
  const st = await stat(region.path);
  return `${handle.untrustedCacheScope}\0${region.path}:${region.offset}:${region.length}:${st.size}:${st.mtimeMs}`;
}

export async function readImage(handle: ImageHandle, plan: ProbePlan, options: ReadImageOptions = {}): Promise<ReadImageResult> {
  const cache = options.cacheDir === null ? undefined : new LayerCache(options.cacheDir ?? undefined);
  let layersFromCache = 0;
  let bytesRead = 0;
  let results: LayerResult[];
  let done = 0;
  const tick = (digest: string) => options.onLayer?.({ done: ++done, total: handle.layers.length, bytesRead, digest });

  if (handle.readOnce) {
    // A pipe: layers are walked in the order they arrive, results merged in manifest order.
    const byName = new Map<string, LayerResult>();
    await handle.readOnce(async (name, blob, compression) => {
      const got = await walkTarStream(blob, compression, {
        plan,
        maxLayerBytes: options.maxLayerBytes,
        label: `${handle.ref}: ${name}`,
        hashTar: compression !== 'none',
      });
      bytesRead += got.bytesRead;
      byName.set(name, got.result);
      tick(name);
      return { storedDigest: got.storedDigest, tarDigest: got.tarDigest };
    });
    results = handle.layers.map((l) => {
      const r = l.bytes.kind === 'read-once' ? byName.get(l.bytes.member) : undefined;
      if (!r) throw new Error(`internal: layer ${l.digest} was not walked`);
      for (const e of r.entries) e.origin = l.digest;
      return r;
    });
    if (cache) await Promise.all(handle.layers.map((l, i) => cache.put(layerCacheKey(l.digest, plan.version), results[i])));
  } else {
    const readOne = async (layer: LayerHandle): Promise<LayerResult> => {
      const trustedKey = layerCacheKey(layer.digest, plan.version);
      const skipRead = (layer.bytes.kind === 'file-region' && layer.compression === 'none' && !options.verify) || layer.bytes.kind === 'dir';
      const scopedKey = skipRead ? layerCacheKey(layer.digest, plan.version, await untrustedScope(handle, layer)) : undefined;
      // A hit is trusted: its digest was checked when it was cached, and the blob is not read
      // again. --verify re-reads and re-checks every layer, cached or not (a blob changed on disk since).
      if (cache && !options.verify) {
        const hit = (await cache.get(trustedKey)) ?? (scopedKey ? await cache.get(scopedKey) : undefined);
        if (hit) {
          layersFromCache++;
          return hit;
        }
      }
      // A directory-tree layer (unpacked snapshot, live root) walks itself: candidates only.
      if (layer.bytes.kind === 'dir') {
        const result = await layer.bytes.walk(plan);
        if (cache && scopedKey) await cache.put(scopedKey, result);
        return result;
      }
      const { result, stats } = await walkLayer(layer, {
        plan,
        verify: options.verify,
        maxLayerBytes: options.maxLayerBytes,
        label: `${handle.ref}: layer ${layer.digest}`,
      });
      bytesRead += stats.bytesRead;
      if (cache) await cache.put(stats.digestChecked ? trustedKey : (scopedKey ?? layerCacheKey(layer.digest, plan.version, handle.untrustedCacheScope)), result);
      return result;
    };
    results = await mapLimit(handle.layers, options.concurrency ?? layerConcurrency(), async (layer) => {
      const r = await readOne(layer);
      tick(layer.digest);
      return r;
    });
  }

  return {
    files: mergeLayers(results, plan),
    labels: { ...handle.config.labels },
    env: { ...handle.config.env },
    refs: [...handle.refs],
    warnings: results.flatMap((r) => r.warnings),
    stats: { layers: handle.layers.length, layersFromCache, bytesRead },
  };
}
