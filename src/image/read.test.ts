import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Fixture } from '../fixtures/format.js';
import { openImage } from '../sources/index.js';
import { globPlan } from '../../test/support/glob-plan.js';
import { readImage } from './read.js';
import { writeDockerArchive } from '../fixtures/image-writer.js';

const plan = globPlan([['/opt/**', 100]]);
const fixture: Fixture = {
  name: 'cache',
  signature: 'test',
  description: 'one layer with a version file',
  image: {},
  layers: [{ files: [{ path: '/opt/app/version', content: 'app 1.2.3\n' }] }],
  expect: [],
};

async function version(path: string, cacheDir: string, verify = false) {
  const handle = await openImage(`docker-archive:${path}`, { verify });
  const image = await readImage(handle, plan, { cacheDir, verify });
  return { text: image.files.get('/opt/app/version')!.content!.toString(), fromCache: image.stats.layersFromCache };
}

describe('readImage and the layer cache', () => {
  it('a lying archive cannot poison the cache for an honest one with the same layer digest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-poison-'));
    const cacheDir = join(dir, 'cache');
    const honest = join(dir, 'honest.tar');
    const lying = join(dir, 'lying.tar');
    await writeDockerArchive(fixture, honest);
    // Same manifest and diff_ids, different bytes in the (skip-read, unchecked) layer.
    const bytes = readFileSync(honest);
    bytes.write('app 6.6.6', bytes.indexOf('app 1.2.3'), 'latin1');
    writeFileSync(lying, bytes);

    expect(await version(lying, cacheDir)).toEqual({ text: 'app 6.6.6\n', fromCache: 0 });
    expect(await version(lying, cacheDir)).toEqual({ text: 'app 6.6.6\n', fromCache: 1 }); // its own scope
    expect(await version(honest, cacheDir)).toEqual({ text: 'app 1.2.3\n', fromCache: 0 });
    // Rewriting the liar in place (same size) changes its identity: no stale scoped hit.
    await new Promise((r) => setTimeout(r, 20));
    bytes.write('app 7.7.7', bytes.indexOf('app 6.6.6'), 'latin1');
    writeFileSync(lying, bytes);
    expect(await version(lying, cacheDir)).toEqual({ text: 'app 7.7.7\n', fromCache: 0 });
    // A verified read is trusted and shared by digest...
    expect(await version(honest, cacheDir, true)).toEqual({ text: 'app 1.2.3\n', fromCache: 0 });
    // ...and an unverified read of the liar then gets the checked result for that digest.
    expect((await version(lying, cacheDir)).fromCache).toBe(1);
    expect((await version(lying, cacheDir)).text).toBe('app 1.2.3\n');
  });
});

describe('readImage with directory-tree layers', () => {
  it('lets a directory layer walk itself (no tar), merged like the others and cached only under the handle scope', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'kensus-walkdir-'));
    let walks = 0;
    const dirLayer = {
      digest: 'sha256:' + 'd'.repeat(64),
      mediaType: 'dir',
      compression: 'none' as const,
      bytes: {
        kind: 'dir' as const,
        walk: async () => {
          walks++;
          return { entries: [{ path: '/opt/app/version', kind: 'file' as const, size: 4, mode: 0o644, content: Buffer.from('2.0\n') }], whiteouts: [], opaque: [], warnings: [] };
        },
      },
    };
    const handle = {
      ref: 'host:test',
      source: 'host',
      digest: 'sha256:' + 'e'.repeat(64),
      configDigest: 'sha256:' + 'e'.repeat(64),
      config: { labels: {}, env: {}, diffIds: [] },
      layers: [dirLayer],
      refs: [],
      untrustedCacheScope: 'host:test:1',
      close: async () => {},
    };
    const first = await readImage(handle, plan, { cacheDir });
    expect(first.files.get('/opt/app/version')!.content!.toString()).toBe('2.0\n');
    const second = await readImage(handle, plan, { cacheDir });
    expect(second.stats.layersFromCache).toBe(1);
    expect(walks).toBe(1);
    await readImage({ ...handle, untrustedCacheScope: 'host:test:2' }, plan, { cacheDir });
    expect(walks).toBe(2);
  });
});
