/**
 * Per-layer walk results on disk, so the hundred images that share a base layer read it once.
 * Key: the layer digest and the probe plan's version. A layer whose digest was checked is
 * cached globally; one that was skip-read unchecked is cached only under the archive's own
 * identity, so a lying archive cannot poison results for other images. Writes are atomic
 * (tmp + rename): a crash never leaves half an entry for the next reader.
 *
 * The cache is bounded: past its size limit the entries used least recently go first (a hit
 * refreshes an entry's mtime). Trimming lists the whole cache, so it runs at most once an hour,
 * from whichever process writes then, like ccache's cleanup.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FileEntry } from '../model/entry.js';
import type { LayerResult } from './types.js';
import { log } from '../log.js';

/** Bumped when the stored format changes. */
const FORMAT = 1;

export const DEFAULT_CACHE_MAX_BYTES = 1024 ** 3;
/** A trim brings the cache down to this share of the limit, so the next write does not trim again. */
const TRIM_TO = 0.8;
const TRIM_EVERY_MS = 60 * 60 * 1000;
/** Temp files of a writer that crashed; a live writer renames its own within milliseconds. */
const STALE_TMP_MS = 60 * 60 * 1000;
const TRIM_MARK = '.last-trim';

/** The size limit: $KENSUS_CACHE_MAX_BYTES (bytes, or with K/M/G suffix), else 1 GiB. */
export function cacheMaxBytes(env: string | undefined = process.env.KENSUS_CACHE_MAX_BYTES): number {
  if (!env) return DEFAULT_CACHE_MAX_BYTES;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(env);
  if (!m) {
    log.warn({ KENSUS_CACHE_MAX_BYTES: env }, 'KENSUS_CACHE_MAX_BYTES is not a size (e.g. 500M, 2G); using 1G');
    return DEFAULT_CACHE_MAX_BYTES;
  }
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * unit);
}

export interface TrimResult {
  /** Bytes of entries before and after the trim. */
  before: number;
  after: number;
  removed: number;
}

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
  private trimChecked = false;

  constructor(
    readonly dir: string = defaultLayerCacheDir(),
    readonly maxBytes: number = cacheMaxBytes(),
  ) {}

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached result, or undefined (missing or unreadable entries are misses, never errors). */
  async get(key: string): Promise<LayerResult | undefined> {
    let text: string;
    const file = this.file(key);
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    // Used now: the trim removes the least recently used entries first.
    const now = new Date();
    utimes(file, now, now).catch(() => {});
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
      return;
    }
    await this.trimIfDue().catch((err: Error) => log.warn({ dir: this.dir, err: err.message }, 'could not trim the layer cache'));
  }

  /** Trims when the last trim (by any process) is more than an hour old; once per instance. */
  private async trimIfDue(): Promise<void> {
    if (this.trimChecked) return;
    this.trimChecked = true;
    const mark = join(this.dir, TRIM_MARK);
    const last = await stat(mark).then((s) => s.mtimeMs, () => 0);
    if (Date.now() - last < TRIM_EVERY_MS) return;
    await writeFile(mark, '');
    const r = await this.trim();
    if (r.removed > 0) log.info({ dir: this.dir, ...r, maxBytes: this.maxBytes }, 'trimmed the layer cache');
  }

  /** Removes least recently used entries until the cache holds at most 80% of its limit. */
  async trim(): Promise<TrimResult> {
    const files: { path: string; size: number; used: number }[] = [];
    const now = Date.now();
    for (const sub of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of await readdir(join(this.dir, sub)).catch(() => [] as string[])) {
        const path = join(this.dir, sub, name);
        const s = await stat(path).catch(() => undefined);
        if (!s?.isFile()) continue;
        if (name.endsWith('.tmp')) {
          if (now - s.mtimeMs > STALE_TMP_MS) await rm(path, { force: true });
          continue;
        }
        if (name.endsWith('.json')) files.push({ path, size: s.size, used: s.mtimeMs });
      }
    }
    const before = files.reduce((n, f) => n + f.size, 0);
    let after = before;
    let removed = 0;
    if (before > this.maxBytes) {
      files.sort((a, b) => a.used - b.used);
      for (const f of files) {
        if (after <= this.maxBytes * TRIM_TO) break;
        await rm(f.path, { force: true });
        after -= f.size;
        removed++;
      }
    }
    return { before, after, removed };
  }
}
