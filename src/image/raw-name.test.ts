// The raw-header fast path (tar.ts plainEntry + plan.rejectsName) must change nothing: every walk
// gives what the full decode of every header gives, for odd names too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK } from './tar.js';
import { compress } from '../fixtures/image-writer.js';
import { padding, paxHeader, tarEnd, tarEntry, tarHeader } from '../fixtures/tar-writer.js';
import type { ProbePlan } from '../model/entry.js';
import { loadSignatureSet } from '../signatures/load.js';
import { regionLayer, sha256 } from './oci.js';
import type { LayerHandle } from './types.js';
import { walkLayer } from './walk-layer.js';

const dir = mkdtempSync(join(tmpdir(), 'kensus-rawname-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function fileLayer(blob: Buffer): LayerHandle {
  const path = join(dir, `layer-${n++}`);
  writeFileSync(path, blob);
  return regionLayer({ path, offset: 0, length: blob.length }, { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blob) });
}

function streamLayer(blob: Buffer, compression: 'none' | 'gzip'): LayerHandle {
  return { digest: sha256(blob), mediaType: 'x', compression, bytes: { kind: 'stream', open: async () => Readable.from([blob]) } };
}

const real = (await loadSignatureSet()).plan;
/** The same plan without the fast reject: every header decoded, as before. */
const decodeAll: ProbePlan = { version: real.version, probes: real.probes, contentBytes: (p) => real.contentBytes(p) };

/** A header whose ustar prefix field holds `prefix` (a name split as Go and GNU tar write long ones). */
function prefixed(prefix: string, name: string, size = 0, typeflag = '0'): Buffer {
  const h = tarHeader({ name, size, typeflag });
  Buffer.from(prefix, 'utf8').copy(h, 345, 0, 155);
  return resum(h);
}

function resum(h: Buffer): Buffer {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function summary(r: Awaited<ReturnType<typeof walkLayer>>['result']) {
  return {
    entries: r.entries.map((e) => ({ path: e.path, kind: e.kind, size: e.size, mode: e.mode, link: e.linkTarget, content: e.content?.toString('latin1'), truncated: e.truncated })),
    whiteouts: r.whiteouts,
    opaque: r.opaque,
    warnings: r.warnings,
  };
}

/** Deterministic pseudo-random names built from the pieces that make names odd. */
function randomTar(seed: number, count: number): Buffer {
  let s = seed;
  const rnd = (k: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % k;
  };
  const segs = ['usr', 'lib', 'var/lib/dpkg', 'status', 'status.d', 'release', 'x.swidtag', 'install/response', 'a.rsp', '.hidden', '.wh.old',
    '.wh..wh..opq', '.', '..', '', 'é', 'java', 'bin', 'opt', 'ibm', 'lib64', 'README.md', 'x.tar.gz'];
  const parts: Buffer[] = [];
  const used: string[] = [];
  for (let i = 0; i < count; i++) {
    const depth = 1 + rnd(4);
    let name = Array.from({ length: depth }, () => segs[rnd(segs.length)]).join('/');
    if (rnd(5) === 0) name = './' + name;
    if (rnd(9) === 0) name = '/' + name;
    if (used.length && rnd(6) === 0) name = used[rnd(used.length)]; // the same path again, another kind
    used.push(name);
    const kind = rnd(10);
    const body = Buffer.from(`body ${i}\n`);
    if (kind === 0) parts.push(...tarEntry({ name, type: 'symlink', linkname: used[rnd(used.length)] }));
    else if (kind === 1) parts.push(...tarEntry({ name, type: 'hardlink', linkname: used[rnd(used.length)] }));
    else if (kind === 2) parts.push(...tarEntry({ name, type: 'dir' }));
    else if (kind === 3 && name.length > 3) {
      const cut = name.indexOf('/', 1);
      if (cut > 0) parts.push(prefixed(name.slice(0, cut), name.slice(cut + 1), body.length), body, padding(body.length));
      else parts.push(...tarEntry({ name, content: body }));
    } else if (kind === 4) parts.push(tarHeader({ name, typeflag: '6', size: 0 }));
    else parts.push(...tarEntry({ name, content: body }));
  }
  parts.push(tarEnd());
  return Buffer.concat(parts);
}

describe('the raw-header fast path', () => {
  /** A PAX global header ('g'), as `git archive` writes one with the commit id. */
  const globalPax = (records: Record<string, string>) => {
    const [h, body, pad] = paxHeader(records);
    h.write('g', 156, 1, 'latin1');
    return [resum(h), body, pad];
  };

  const fixed = Buffer.concat([
    ...globalPax({ comment: '0123456789abcdef' }),
    ...tarEntry({ name: 'usr/', type: 'dir' }),
    ...tarEntry({ name: 'usr/bin/ls', content: Buffer.from('ELF') }),
    ...tarEntry({ name: './var/lib/dpkg/status', content: Buffer.from('Package: libc6\nStatus: install ok installed\n') }),
    ...tarEntry({ name: 'var/lib/dpkg/status.d/libc6', content: Buffer.from('Package: libc6\n') }),
    ...tarEntry({ name: 'var/lib/dpkg/status.d/', type: 'dir' }),
    ...tarEntry({ name: 'usr/share/swidtag/redhat.com/rhel-9.swidtag', content: Buffer.from('<SoftwareIdentity/>') }),
    // a kept symlink, then a non-candidate regular file of the same path replaces it
    ...tarEntry({ name: 'usr/bin/tool', type: 'symlink', linkname: 'ls' }),
    ...tarEntry({ name: 'usr/bin/tool', content: Buffer.from('now a file') }),
    ...tarEntry({ name: 'usr/lib/jvm/jdk/release', content: Buffer.from('JAVA_VERSION="21"\n') }),
    // the ustar prefix field: candidate and non-candidate
    prefixed('usr/lib/jvm', 'jdk-17/release', 0),
    prefixed('usr/share', 'doc/x/copyright', 0),
    prefixed('var/lib', 'dpkg/status.d/zlib', 0),
    ...paxHeader({ path: 'usr/share/a-long-pax-name/release' }),
    tarHeader({ name: 'ignored', size: 0 }),
    ...tarEntry({ name: 'usr/share/zoneinfo/Europe/Zürich', content: Buffer.from('TZif') }),
    ...tarEntry({ name: 'etc/.wh.hosts' }),
    ...tarEntry({ name: '../../escape' }),
    ...tarEntry({ name: '/abs/olute' }),
    ...tarEntry({ name: 'usr//bin/./release' }),
    tarEnd(),
  ]);

  const globalSize = Buffer.concat([...globalPax({ size: '0' }), tarHeader({ name: 'usr/bin/ls', size: 3 }), tarHeader({ name: 'var/lib/dpkg/status', size: 0 }), tarEnd()]);
  const cases: Array<[string, Buffer]> = [['fixed', fixed], ['a global PAX size', globalSize], ...[1, 2, 3, 4, 5].map((seed): [string, Buffer] => [`random ${seed}`, randomTar(seed, 400)])];

  it.each(cases)('gives what decoding every header gives (%s): seek walk, stream, gzip stream', async (_, tar) => {
    const want = summary((await walkLayer(fileLayer(tar), { plan: decodeAll })).result);
    expect(want.entries.length).toBeGreaterThan(0);
    expect(summary((await walkLayer(fileLayer(tar), { plan: real })).result)).toEqual(want);
    expect(summary((await walkLayer(streamLayer(tar, 'none'), { plan: real })).result)).toEqual(want);
    expect(summary((await walkLayer(streamLayer(compress(tar, 'gzip'), 'gzip'), { plan: real })).result)).toEqual(want);
  });

  it('decodes only what may matter: non-candidates are rejected from their bytes', async () => {
    let decoded = 0;
    let rejected = 0;
    const counting: ProbePlan = {
      ...decodeAll,
      contentBytes: (p) => (decoded++, real.contentBytes(p)),
      rejectsName: (name) => {
        const r = real.rejectsName!(name);
        if (r) rejected++;
        return r;
      },
    };
    const { result } = await walkLayer(fileLayer(fixed), { plan: counting });
    expect(result.entries.map((e) => e.path)).toContain('/var/lib/dpkg/status');
    const fast = decoded;
    decoded = 0;
    await walkLayer(fileLayer(fixed), { plan: { ...counting, rejectsName: undefined } });
    // usr/, usr/bin/ls, var/lib/dpkg/status.d/ (the directory itself), usr/share/doc/x/copyright are
    // skipped unseen; usr/bin/tool as a file is rejected by the plan but must replace the kept symlink
    expect(rejected).toBe(5);
    expect(fast).toBe(decoded - 4);
  });

  it('a skipped header with a bad checksum still fails the walk, as the full parse does', async () => {
    const bad = tarHeader({ name: 'usr/bin/ls', size: 0 });
    bad[150] ^= 1;
    const tar = Buffer.concat([bad, tarEnd()]);
    const slow = walkLayer(fileLayer(tar), { plan: decodeAll });
    await expect(slow).rejects.toThrow(/checksum mismatch/);
    await expect(walkLayer(fileLayer(tar), { plan: real })).rejects.toThrow(/checksum mismatch/);
    await expect(walkLayer(streamLayer(tar, 'none'), { plan: real })).rejects.toThrow(/checksum mismatch/);
  });

  it('a bad mode or a size past the end is reported as the full parse reports it', async () => {
    const mode = tarHeader({ name: 'usr/bin/ls', size: 0 });
    mode.write('9', 101, 1, 'latin1');
    const modeTar = Buffer.concat([resum(mode), tarEnd()]);
    const cut = Buffer.concat([tarHeader({ name: 'usr/bin/ls', size: 4096 }), Buffer.alloc(512)]);
    for (const tar of [modeTar, cut]) {
      const why = await walkLayer(fileLayer(tar), { plan: decodeAll }).then(() => 'ok', (e: Error) => e.message);
      expect(why).not.toBe('ok');
      await expect(walkLayer(fileLayer(tar), { plan: real })).rejects.toThrow(why);
    }
  });
});
