import { homedir } from 'node:os';
import { join } from 'node:path';


export interface CacheOptions {
  cache?: boolean;
  cacheDir?: string;
}

/** The layer cache directory: --cache-dir, else $XDG_CACHE_HOME/kensus/layers; null with --no-cache. */
export function cacheDirOf(opts: CacheOptions): string | null {
  if (opts.cache === false) return null;
  if (opts.cacheDir) return opts.cacheDir;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'kensus', 'layers');
}
