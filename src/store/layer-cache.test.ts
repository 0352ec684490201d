import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LayerResult } from '../image/walk-layer.js';
import { LayerCache, defaultLayerCacheDir, layerCacheKey } from './layer-cache.js';

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
