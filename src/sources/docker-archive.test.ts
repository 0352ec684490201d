import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { globPlan } from '../../test/support/glob-plan.js';
import { readImage } from '../image/read.js';
import { tarArchive } from '../fixtures/tar-writer.js';

import { sha256 } from '../image/oci.js';
import { openDockerArchive, splitPathRef } from './docker-archive.js';

const dir = mkdtempSync(join(tmpdir(), 'kensus-docker-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const plan = globPlan([['/opt/**', 100]]);

/** A legacy docker save whose second layer is a symlink to the first (docker does this for duplicates). */
function legacyWithDuplicateLayer(): Buffer {
  const layer = tarArchive([{ name: 'opt/app/version', content: Buffer.from('1.0\n') }]);
  const diffId = sha256(layer);
  const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', config: { Labels: { a: 'b' } }, rootfs: { type: 'layers', diff_ids: [diffId, diffId] } }));
  const configName = `${sha256(config).slice(7)}.json`;
  return tarArchive([
    { name: 'aaa', type: 'dir' },
    { name: 'aaa/layer.tar', content: layer },
    { name: 'bbb', type: 'dir' },
    { name: 'bbb/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
    { name: configName, content: config },
    { name: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['dup:1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }])) },
  ]);
}

describe('docker-archive', () => {
  it('follows layer.tar symlinks of a legacy save, from a file and from a pipe', async () => {
    const path = join(dir, 'dup.tar');
    writeFileSync(path, legacyWithDuplicateLayer());
    const h = await openDockerArchive(path, {});
    expect(h.layers).toHaveLength(2);
    expect(h.layers[0].digest).toBe(h.layers[1].digest);
    const image = await readImage(h, plan, { cacheDir: null });
    expect(image.files.get('/opt/app/version')!.content!.toString()).toBe('1.0\n');
    expect(image.labels).toEqual({ a: 'b' });

    const fifo = join(dir, 'dup.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = pipeline(createReadStream(path), createWriteStream(fifo));
    const piped = await openDockerArchive(fifo, {});
    const fromPipe = await readImage(piped, plan, { cacheDir: null });
    await writer;
    expect(piped.layers.map((l) => l.digest)).toEqual(h.layers.map((l) => l.digest));
    expect(fromPipe.files.get('/opt/app/version')!.content!.toString()).toBe('1.0\n');
    expect(piped.digest).toBe(h.digest);
  });

  it('splits PATH:REF at the longest existing path, so paths may hold colons', async () => {
    const odd = join(dir, 'a:b.tar');
    writeFileSync(odd, 'x');
    expect(await splitPathRef(odd)).toEqual({ path: odd, ref: undefined });
    expect(await splitPathRef(`${odd}:repo/app:1`)).toEqual({ path: odd, ref: 'repo/app:1' });
    expect(await splitPathRef('/no/such:thing')).toEqual({ path: '/no/such:thing' });
  });
});
