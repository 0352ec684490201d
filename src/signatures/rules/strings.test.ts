import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { KensusError } from '../../errors.js';
import { walkLayer } from '../../image/walk-layer.js';
import { walkDirLayer } from '../../image/walk-dir.js';
import { MEDIA_TYPES, sha256 } from '../../image/oci.js';
import { fixtureLayerTar } from '../../fixtures/image-writer.js';
import { loadSignatureSet, repoSignaturesDir } from '../load.js';
import { matchSubject } from '../match.js';
import type { FileEntry } from '../../model/entry.js';

const tmpDirs: string[] = [];
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

/** A signature whose only anchor is a file rule, with strings rules beside it. */
function signature(strings: string): string {
  return `id: acme-vm
vendor: Acme
product: Acme VM
licenseMetric: per-core
sources: [https://example.invalid/acme-vm]
evidence:
  - id: launcher
    kind: file
    glob: '**/bin/acmevm'
${strings}`;
}

const RULES = `  - id: vm-name
    kind: strings
    strength: medium
    glob: '**/lib/libacme.so'
    find: ['Acme(TM) Server VM', 'Acme(TM) Client VM']
    budget: 4194304
  - id: vm-version
    kind: strings
    support: true
    glob: '**/lib/libacme.so'
    find: 'Acme(TM) Server VM ('
    pattern: 'JRE \\((?<version>\\d+(?:\\.\\d+)*)\\+'
    extract: [version]
    window: 64
    budget: 1048576
`;

async function load(text: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kensus-strings-'));
  tmpDirs.push(dir);
  await cp(path.join(repoSignaturesDir(), 'signature.schema.json'), path.join(dir, 'signature.schema.json'));
  await writeFile(path.join(dir, 'acme-vm.yaml'), text);
  return loadSignatureSet(dir);
}

async function loadError(text: string): Promise<string> {
  try {
    await load(text);
  } catch (err) {
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(2);
    return `${(err as Error).message} ${(err as KensusError).hint ?? ''}`;
  }
  throw new Error('expected the signature to be rejected');
}

/** A 3 MiB library: the VM's name 1 MiB in, its info string 2 MiB in (past vm-version's budget). */
function library(): Buffer {
  const lib = Buffer.alloc(3 << 20);
  lib.write('\x7fELF', 0, 'latin1');
  lib.write('Acme(TM) Server VM\0', (1 << 20) - 5, 'latin1');
  lib.write('Acme(TM) Server VM (4.2.1+7) for linux-amd64 JRE (4.2.1+7)\0', 2 << 20, 'latin1');
  return lib;
}

describe('kind: strings', () => {
  it('is checked by the schema: a budget above 256 MiB, a non-ASCII or too short needle, a window above 255', async () => {
    const bad = (field: string) => signature(`  - id: s\n    kind: strings\n    glob: '**/x.so'\n${field}`);
    expect(await loadError(bad("    find: 'Acme(TM) VM'\n    budget: 268435457\n"))).toMatch(/budget/);
    expect(await loadError(bad("    find: 'Acme™ VM'\n    budget: 1024\n"))).toMatch(/find/);
    expect(await loadError(bad("    find: 'ab'\n    budget: 1024\n"))).toMatch(/find/);
    expect(await loadError(bad("    find: 'Acme(TM) VM'\n    budget: 1024\n    pattern: 'x'\n    window: 256\n"))).toMatch(/window/);
    expect(await loadError(bad("    find: 'Acme(TM) VM'\n"))).toMatch(/budget/);
  });

  it('merges the searches of every rule on a path into one request of the plan', async () => {
    const set = await load(signature(RULES));
    expect(set.plan.contentBytes('/opt/acme/lib/libacme.so')).toBe(0);
    expect(set.plan.scanFor?.('/opt/acme/lib/libacme.so')).toEqual({
      needles: ['Acme(TM) Server VM', 'Acme(TM) Client VM', 'Acme(TM) Server VM ('],
      budget: 4194304,
      window: 64,
      // Each rule's needles stand for one another.
      groups: [['Acme(TM) Server VM', 'Acme(TM) Client VM'], ['Acme(TM) Server VM (']],
    });
    expect(set.plan.scanFor?.('/opt/acme/lib/other.so')).toBeUndefined();
  });

  it('finds the strings deep inside a layer and the directory walk alike, each rule held to its own budget', async () => {
    const set = await load(signature(RULES));
    const tar = fixtureLayerTar({ files: [{ path: '/opt/acme/bin/acmevm', content: 'x' }, { path: '/opt/acme/lib/libacme.so', base64: library().toString('base64') }] });
    const layer = await walkLayer(
      { digest: sha256(tar), mediaType: MEDIA_TYPES.ociLayer, compression: 'none', bytes: { kind: 'stream', open: async () => Readable.from([tar]) } },
      { plan: set.plan },
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kensus-strings-dir-'));
    tmpDirs.push(dir);
    await mkdir(path.join(dir, 'opt/acme/bin'), { recursive: true });
    await mkdir(path.join(dir, 'opt/acme/lib'), { recursive: true });
    await writeFile(path.join(dir, 'opt/acme/bin/acmevm'), 'x');
    await writeFile(path.join(dir, 'opt/acme/lib/libacme.so'), library());
    const walked = await walkDirLayer(dir, set.plan);
    for (const entries of [layer.result.entries, walked.entries]) {
      const lib = entries.find((e) => e.path === '/opt/acme/lib/libacme.so')!;
      expect(lib.content).toBeUndefined();
      expect(lib.found?.map((h) => [h.needle, h.offset])).toEqual([
        ['Acme(TM) Server VM', (1 << 20) - 5],
        ['Acme(TM) Server VM (', 2 << 20],
      ]);
      const files = new Map<string, FileEntry>(entries.map((e) => [e.path, e]));
      const [finding] = matchSubject(set, { files, packages: [], labels: {}, env: {}, refs: [] });
      expect(finding.confidence).toBe('high'); // two medium anchors: the launcher file and the VM's name
      expect(finding.evidence.find((e) => e.rule === 'acme-vm/vm-name')).toMatchObject({ kind: 'strings', value: `Acme(TM) Server VM (at byte ${(1 << 20) - 5})` });
      // The info string lies 2 MiB in, past vm-version's 1 MiB budget: no version from it.
      expect(finding.version).toBeNull();
      expect(finding.evidence.some((e) => e.rule === 'acme-vm/vm-version')).toBe(false);
    }
  });

  it('takes the version from the window after the needle when it lies within the budget', async () => {
    const set = await load(signature(RULES.replace('budget: 1048576', 'budget: 4194304')));
    const files = new Map<string, FileEntry>([
      ['/opt/acme/bin/acmevm', { path: '/opt/acme/bin/acmevm', kind: 'file', size: 1, mode: 0o755 }],
      [
        '/opt/acme/lib/libacme.so',
        {
          path: '/opt/acme/lib/libacme.so',
          kind: 'file',
          size: 3 << 20,
          mode: 0o644,
          // As the tracker reports it: no offset known.
          found: [{ needle: 'Acme(TM) Server VM (', offset: null, text: 'Acme(TM) Server VM (4.2.1+7) for linux-amd64 JRE (4.2.1+7)' }],
        },
      ],
    ]);
    const [finding] = matchSubject(set, { files, packages: [], labels: {}, env: {}, refs: [] });
    expect(finding.version).toBe('4.2.1');
    expect(finding.evidence.find((e) => e.rule === 'acme-vm/vm-version')).toMatchObject({ kind: 'strings', value: 'Acme(TM) Server VM (4.2.1+7) for linux-amd64 JRE (4.2.1+7)', gives: ['version'] });
  });
});
