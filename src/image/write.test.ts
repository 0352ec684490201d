import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Fixture } from '../model/fixture.js';
import { globPlan } from './plan.js';
import { walkTarStream } from './walk-layer.js';
import { fixtureLayerTar, writeDockerArchive, writeOciArchive } from './write.js';

const fixture: Fixture = {
  name: 'w',
  signature: 'test',
  description: 'every kind of fixture entry',
  image: {},
  layers: [
    {
      files: [
        { path: '/opt/a/text', content: 'hello' },
        { path: '/opt/a/bin', base64: Buffer.from([0, 1, 2]).toString('base64'), mode: 0o755 },
        { path: '/opt/a/filler', size: 1000 },
        { path: '/opt/a/link', symlink: 'text' },
        { path: '/opt/a/hard', hardlink: '/opt/a/text' },
        { path: '/opt/empty', dir: true },
      ],
      whiteouts: ['/opt/gone'],
      opaque: ['/var/cache'],
    },
  ],
  expect: [],
};

describe('fixture writers', () => {
  it('fixtureLayerTar writes parents, files, links, whiteouts and opaque markers', async () => {
    const tar = fixtureLayerTar(fixture.layers[0]);
    const { result } = await walkTarStream(Readable.from([tar]), 'none', { plan: globPlan([['/**', 10_000]]) });
    const by = new Map(result.entries.map((e) => [e.path, e]));
    expect(by.get('/opt/a/text')!.content!.toString()).toBe('hello');
    expect(by.get('/opt/a/bin')).toMatchObject({ mode: 0o755, size: 3 });
    expect(by.get('/opt/a/filler')!.size).toBe(1000);
    expect(by.get('/opt/a/link')).toMatchObject({ kind: 'symlink', linkTarget: 'text' });
    expect(by.get('/opt/a/hard')).toMatchObject({ kind: 'hardlink', linkTarget: '/opt/a/text' });
    expect(by.get('/opt/a/hard')!.content!.toString()).toBe('hello');
    expect(by.get('/opt/empty')!.kind).toBe('dir');
    expect(by.get('/opt')!.kind).toBe('dir');
    expect(result.whiteouts).toEqual(['/opt/gone']);
    expect(result.opaque).toEqual(['/var/cache']);
  });

  it('is deterministic: the same fixture gives byte-identical archives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-write-'));
    for (const [name, write] of [
      ['docker', (p: string) => writeDockerArchive(fixture, p)],
      ['gzip', (p: string) => writeOciArchive(fixture, p, { compression: 'gzip' })],
      ['zstd', (p: string) => writeOciArchive(fixture, p, { compression: 'zstd' })],
    ] as const) {
      await write(join(dir, `${name}-1.tar`));
      await write(join(dir, `${name}-2.tar`));
      expect(readFileSync(join(dir, `${name}-1.tar`)).equals(readFileSync(join(dir, `${name}-2.tar`)))).toBe(true);
    }
  });
});
