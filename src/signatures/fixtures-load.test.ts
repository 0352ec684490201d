import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KensusError } from '../model/errors.js';
import { mergeFixtureLayers } from './fixture-subject.js';
import { loadFixtures } from './fixtures.js';

const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

async function fixturesDir(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kensus-fx-'));
  tmp.push(dir);
  await mkdir(path.join(dir, 'acme'));
  await writeFile(path.join(dir, 'acme', 'one.yaml'), text);
  return dir;
}

const GOOD = `description: d
image: { shell: true }
layers:
  - files:
      - { path: /opt/acme/bin/acmed, content: "x" }
expect:
  - { id: acme }
`;

describe('loadFixtures', () => {
  it('reads fixtures with name and signature from their path', async () => {
    const [f] = await loadFixtures(await fixturesDir(GOOD));
    expect(f).toMatchObject({ name: 'one', signature: 'acme', image: { shell: true }, expect: [{ id: 'acme' }] });
  });

  it.each([
    [GOOD.replace('/opt/acme/bin/acmed', 'opt/acme'), /one\.yaml: layers\[0\]\.files\[0\]\.path.*absolute path/],
    [GOOD.replace('/opt/acme/bin/acmed', '/opt/../etc/passwd'), /one\.yaml: layers\[0\]\.files\[0\]\.path/],
    [GOOD.replace('content: "x"', 'content: "x", size: 3'), /one\.yaml: layers\[0\]\.files\[0\]: has content and size: give exactly one of/],
    [GOOD.replace('expect:\n  - { id: acme }\n', ''), /one\.yaml: expect: the fixture asserts nothing: add expect/],
    [GOOD.replace('description: d\n', ''), /one\.yaml: description.*add "description"/],
    [GOOD.replace('shell: true', 'shel: true'), /one\.yaml: image\.shel: unknown field/],
    [`${GOOD}  - [`, /one\.yaml: invalid YAML/],
  ])('rejects a broken fixture with file, field and fix (%#)', async (text, message) => {
    const err = await loadFixtures(await fixturesDir(text)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(2);
    expect((err as KensusError).message).toMatch(message);
  });
});

describe('mergeFixtureLayers', () => {
  it('applies whiteouts and opaque directories to lower layers only, later layers win', () => {
    const merged = mergeFixtureLayers({
      name: 'x', signature: 'acme', description: 'd', image: {}, expect: [],
      layers: [
        { files: [{ path: '/a/keep', content: '1' }, { path: '/a/gone/f', content: '2' }, { path: '/o/old', content: '3' }, { path: '/v', content: 'old' }] },
        { whiteouts: ['/a/gone'], opaque: ['/o'], files: [{ path: '/o/new', content: '4' }, { path: '/v', content: 'new' }, { path: '/h', hardlink: '/v' }] },
      ],
    });
    expect([...merged.keys()].sort()).toEqual(['/a/keep', '/h', '/o/new', '/v']);
    expect(merged.get('/v')!.bytes.toString()).toBe('new');
    expect(merged.get('/h')!.bytes.toString()).toBe('new');
  });
});
