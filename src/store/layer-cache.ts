/**
 * Per-layer walk results on disk, so the hundred images that share a base layer read it once.
 * Key: the layer digest and the probe plan's version. A layer whose digest was checked is
 * cached globally; one that was skip-read unchecked is cached only under the archive's own
 * identity, so a lying archive cannot poison results for other images. Writes are atomic
 * (tmp + rename): a crash never leaves half an entry for the next reader.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FileEntry } from '../model/entry.js';
import type { LayerResult } from '../image/walk-layer.js';
import { log } from '../log.js';

/** Bumped when the stored format changes. */
const FORMAT = 1;

export function defaultLayerCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'kensus', 'layers');
}

/**
 * The cache key: trusted (checked digest) or scoped to an archive identity (path, size, mtime)
 * when the layer's bytes were not checked against its digest.
 */
export function layerCacheKey(digest: string, planVersion: string, untrustedScope?: string): string {
  const h = createHash('sha256').update(`v${FORMAT}\0${digest}\0${planVersion}`);
  if (untrustedScope !== undefined) h.update(`\0untrusted\0${untrustedScope}`);
  return h.digest('hex');
}

interface StoredEntry extends Omit<FileEntry, 'content'> {
  content?: string;
}

interface Stored {
  format: number;
  result: Omit<LayerResult, 'entries'> & { entries: StoredEntry[] };
}

export class LayerCache {
  constructor(readonly dir: string = defaultLayerCacheDir()) {}

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached result, or undefined (missing or unreadable entries are misses, never errors). */
  async get(key: string): Promise<LayerResult | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const stored = JSON.parse(text) as Stored;
      if (stored.format !== FORMAT) return undefined;
      const r = stored.result;
      return {
        whiteouts: r.whiteouts,
        opaque: r.opaque,
        warnings: r.warnings,
        entries: r.entries.map((e) => {
          const { content, ...rest } = e;
          return content === undefined ? rest : { ...rest, content: Buffer.from(content, 'base64') };
        }),
      };
    } catch (err) {
      log.warn({ key, err: (err as Error).message }, 'ignoring a corrupt layer cache entry');
      return undefined;
    }
  }

  async put(key: string, result: LayerResult): Promise<void> {
    const stored: Stored = {
      format: FORMAT,
      result: {
        ...result,
        entries: result.entries.map((e) => (e.content ? { ...e, content: e.content.toString('base64') } : (e as StoredEntry))),
      },
    };
    const target = this.file(key);
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
      await writeFile(tmp, JSON.stringify(stored));
      await rename(tmp, target);
    } catch (err) {
      // A cache that cannot be written costs speed, not correctness.
      log.warn({ dir: this.dir, err: (err as Error).message }, 'could not write the layer cache');
      await rm(tmp, { force: true }).catch(() => {});
    }
  }
}
