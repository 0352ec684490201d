import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Fixture } from '../model/fixture.js';
import { openImage } from '../sources/index.js';
import { globPlan } from './plan.js';
import { readImage } from './read.js';
import { writeDockerArchive } from './write.js';

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
