import { existsSync, mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LayerResult } from './types.js';
import { LayerCache, cacheMaxBytes, defaultLayerCacheDir, layerCacheKey } from './layer-cache.js';

const result: LayerResult = {
  entries: [
    { path: '/opt/x', kind: 'file', size: 5, mode: 0o644, content: Buffer.from([0, 1, 2, 255, 10]), truncated: false, origin: 'sha256:aa' },
    { path: '/usr/bin/java', kind: 'symlink', size: 0, mode: 0o777, linkTarget: '/opt/java' },
  ],
  whiteouts: ['/opt/old'],
  opaque: ['/var/cache'],
  warnings: ['dropped entry "../x"'],
};

describe('LayerCache', () => {
  it('round-trips a layer result, binary content included, with atomic writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-cache-'));
    const cache = new LayerCache(dir);
    const key = layerCacheKey('sha256:aa', 'plan-1');
    expect(await cache.get(key)).toBeUndefined();
    await cache.put(key, result);
    expect(await cache.get(key)).toEqual(result);
    const files = readdirSync(join(dir, key.slice(0, 2)));
    expect(files).toEqual([`${key}.json`]); // no temp file left behind
  });

  it('stays under its size limit: the least recently used entries go first, a hit counts as a use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-cache-'));
    const big: LayerResult = { ...result, entries: [{ path: '/opt/big', kind: 'file', size: 4000, mode: 0o644, content: Buffer.alloc(3000, 7) }] };
    const filler = new LayerCache(dir, Number.MAX_SAFE_INTEGER);
    const keys = Array.from({ length: 10 }, (_, i) => layerCacheKey(`sha256:${i}`, 'p'));
    for (const k of keys) await filler.put(k, big);
    const fileOf = (k: string) => join(dir, k.slice(0, 2), `${k}.json`);
    const entrySize = statSync(fileOf(keys[0])).size;
    // Entry i was last used i hours ago...
    keys.forEach((k, i) => utimesSync(fileOf(k), new Date(Date.now() - i * 3600_000), new Date(Date.now() - i * 3600_000)));
    // ...except the oldest, read just now.
    const limited = new LayerCache(dir, entrySize * 5);
    expect(await limited.get(keys[9])).toBeDefined();
    await new Promise((r) => setTimeout(r, 50)); // the hit refreshes the mtime in the background
    const r = await limited.trim();
    expect(r.before).toBe(entrySize * 10);
    expect(r.after).toBeLessThanOrEqual(entrySize * 4);
    // Down to 80% of the limit (4 entries): the six used longest ago went.
    expect(keys.filter((k) => existsSync(fileOf(k)))).toEqual([keys[0], keys[1], keys[2], keys[9]]);
    expect(r).toEqual({ before: entrySize * 10, after: entrySize * 4, removed: 6 });
  });

  it('trims on write at most once an hour, and removes temp files a crashed writer left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-cache-'));
    const k0 = layerCacheKey('sha256:first', 'p');
    await new LayerCache(dir, Number.MAX_SAFE_INTEGER).put(k0, result);
    expect(existsSync(join(dir, '.last-trim'))).toBe(true);
    const fileOf = (k: string) => join(dir, k.slice(0, 2), `${k}.json`);
    // A new process two hours later, with room for one entry and a half: its write trims.
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dir, '.last-trim'), hourAgo, hourAgo);
    utimesSync(fileOf(k0), hourAgo, hourAgo);
    writeFileSync(join(dir, k0.slice(0, 2), 'leftover.tmp'), 'x');
    utimesSync(join(dir, k0.slice(0, 2), 'leftover.tmp'), hourAgo, hourAgo);
    const k1 = layerCacheKey('sha256:second', 'p');
    await new LayerCache(dir, Math.floor(statSync(fileOf(k0)).size * 1.5)).put(k1, result);
    expect(existsSync(fileOf(k0))).toBe(false);
    expect(existsSync(fileOf(k1))).toBe(true);
    expect(existsSync(join(dir, k0.slice(0, 2), 'leftover.tmp'))).toBe(false);
    // Trimmed just now: the next writer does not list the cache again.
    const k2 = layerCacheKey('sha256:third', 'p');
    await new LayerCache(dir, 1).put(k2, result);
    expect(existsSync(fileOf(k1))).toBe(true);
  });

  it('reads its limit from KENSUS_CACHE_MAX_BYTES', () => {
    expect(cacheMaxBytes(undefined)).toBe(1024 ** 3);
    expect(cacheMaxBytes('500M')).toBe(500 * 1024 ** 2);
    expect(cacheMaxBytes('2GiB')).toBe(2 * 1024 ** 3);
    expect(cacheMaxBytes('123456')).toBe(123456);
    expect(cacheMaxBytes('lots')).toBe(1024 ** 3);
  });

  it('keys differ by plan version and by untrusted scope', () => {
    const trusted = layerCacheKey('sha256:aa', 'plan-1');
    expect(layerCacheKey('sha256:aa', 'plan-2')).not.toBe(trusted);
    expect(layerCacheKey('sha256:aa', 'plan-1', '/a.tar:1:2')).not.toBe(trusted);
    expect(layerCacheKey('sha256:aa', 'plan-1', '/a.tar:1:2')).not.toBe(layerCacheKey('sha256:aa', 'plan-1', '/b.tar:1:2'));
  });

  it('treats a corrupt entry as a miss', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-cache-'));
    const cache = new LayerCache(dir);
    const key = layerCacheKey('sha256:bb', 'p');
    await cache.put(key, result);
    writeFileSync(join(dir, key.slice(0, 2), `${key}.json`), '{"format":1,"result":');
    expect(await cache.get(key)).toBeUndefined();
  });

  it('a cache directory that cannot be written costs speed, not the scan', async () => {
    const blocker = join(mkdtempSync(join(tmpdir(), 'kensus-cache-')), 'file');
    writeFileSync(blocker, 'not a dir');
    const cache = new LayerCache(join(blocker, 'sub'));
    await expect(cache.put(layerCacheKey('sha256:cc', 'p'), result)).resolves.toBeUndefined();
    expect(existsSync(join(blocker, 'sub'))).toBe(false);
  });

  it('defaults to $XDG_CACHE_HOME/kensus/layers', () => {
    const old = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = '/tmp/xdg';
    try {
      expect(defaultLayerCacheDir()).toBe('/tmp/xdg/kensus/layers');
    } finally {
      if (old === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = old;
    }
  });
});
