import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { KensusError } from '../errors.js';
import { regionLayer } from './oci.js';
import { globPlan } from '../../test/support/glob-plan.js';
import { gnuLongHeader, padding, paxHeader, tarArchive, tarEnd, tarEntry, tarHeader } from '../fixtures/tar-writer.js';
import type { LayerHandle } from './types.js';
import { walkLayer, walkTarStream } from './walk-layer.js';
import { compress } from '../fixtures/image-writer.js';
import { sha256 } from './oci.js';

const dir = mkdtempSync(join(tmpdir(), 'kensus-walk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A layer handle over `blob` written to a temp file (seekable), digest computed unless given. */
function fileLayer(blob: Buffer, digest = sha256(blob)): LayerHandle {
  const path = join(dir, `layer-${n++}`);
  writeFileSync(path, blob);
  return regionLayer({ path, offset: 0, length: blob.length }, { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest });
}

/** The same blob offered only as a stream (no file region): the registry/pipe path. */
function streamLayer(blob: Buffer, compression: 'none' | 'gzip' | 'zstd', digest = sha256(blob)): LayerHandle {
  return { digest, mediaType: 'x', compression, bytes: { kind: 'stream', open: async () => Readable.from([blob]) } };
}

const plan = globPlan([
  ['/opt/oracle/**', 64],
  ['/etc/os-release', 4096],
  ['/usr/lib/jvm/*/release', 4096],
]);

const big = Buffer.alloc(3 * 1024 * 1024, 0x41);
const sample = Buffer.concat([
  ...tarEntry({ name: 'opt/', type: 'dir' }),
  ...tarEntry({ name: 'opt/oracle/', type: 'dir' }),
  ...tarEntry({ name: './opt/oracle/version.txt', content: Buffer.from('Oracle Database 19c Enterprise Edition Release 19.3.0.0.0 - Production\n') }),
  ...tarEntry({ name: 'opt/data.bin', content: big }),
  ...tarEntry({ name: 'etc/os-release', content: Buffer.from('ID=debian\n') }),
  ...tarEntry({ name: 'usr/bin/java', type: 'symlink', linkname: '/usr/lib/jvm/jdk/bin/java' }),
  ...tarEntry({ name: 'opt/oracle/bin/oracle', type: 'hardlink', linkname: 'opt/data.bin' }),
  ...tarEntry({ name: 'opt/oracle/.wh.old', content: Buffer.alloc(0) }),
  ...tarEntry({ name: 'var/cache/.wh..wh..opq', content: Buffer.alloc(0) }),
  // a long name through PAX and one through GNU 'L'
  ...tarEntry({ name: `usr/lib/jvm/${'j'.repeat(120)}/release`, content: Buffer.from('JAVA_VERSION="17.0.2"\n') }),
  ...gnuLongHeader('L', `opt/oracle/${'x'.repeat(150)}`),
  tarHeader({ name: 'ignored-short-name', size: 5, gnu: true }),
  Buffer.from('hello'),
  padding(5),
  // escaping and absolute names
  ...tarEntry({ name: '../../opt/oracle/evil', content: Buffer.from('evil') }),
  ...tarEntry({ name: '/opt/oracle//abs', content: Buffer.from('abs') }),
  tarEnd(),
]);

function summary(r: Awaited<ReturnType<typeof walkLayer>>['result']) {
  return {
    entries: r.entries.map((e) => ({ path: e.path, kind: e.kind, size: e.size, link: e.linkTarget, content: e.content?.toString('latin1'), truncated: e.truncated })),
    whiteouts: r.whiteouts,
    opaque: r.opaque,
    warnings: r.warnings,
  };
}

describe('walkLayer', () => {
  it('keeps candidates (content capped), symlinks, hard links, whiteouts and opaque markers; skips the rest unread', async () => {
    const { result, stats } = await walkLayer(fileLayer(sample), { plan });
    const byPath = new Map(result.entries.map((e) => [e.path, e]));
    expect([...byPath.keys()].sort()).toEqual(
      [
        '/etc/os-release',
        '/opt/oracle/abs',
        '/opt/oracle/bin/oracle',
        '/opt/oracle/version.txt',
        `/opt/oracle/${'x'.repeat(150)}`,
        `/usr/lib/jvm/${'j'.repeat(120)}/release`,
        '/usr/bin/java',
      ].sort(),
    );
    const version = byPath.get('/opt/oracle/version.txt')!;
    expect(version.content!.length).toBe(64);
    expect(version.truncated).toBe(true);
    expect(byPath.get('/etc/os-release')!.content!.toString()).toBe('ID=debian\n');
    expect(byPath.get(`/usr/lib/jvm/${'j'.repeat(120)}/release`)!.content!.toString()).toContain('17.0.2');
    expect(byPath.get(`/opt/oracle/${'x'.repeat(150)}`)!.content!.toString()).toBe('hello');
    expect(byPath.get('/usr/bin/java')).toMatchObject({ kind: 'symlink', linkTarget: '/usr/lib/jvm/jdk/bin/java' });
    // A candidate hard link to a non-candidate gets the target's bytes (second pass) and size.
    const link = byPath.get('/opt/oracle/bin/oracle')!;
    expect(link).toMatchObject({ kind: 'hardlink', linkTarget: '/opt/data.bin', size: big.length, truncated: true });
    expect(link.content!.toString()).toBe('A'.repeat(64));
    expect(result.whiteouts).toEqual(['/opt/oracle/old']);
    expect(result.opaque).toEqual(['/var/cache']);
    expect(result.warnings.some((w) => w.includes('../../opt/oracle/evil') && w.includes('escapes'))).toBe(true);
    expect(result.warnings.some((w) => w.includes('absolute'))).toBe(true);
    // Seek walk: the 3 MiB body is never read (two passes of header windows at most).
    expect(stats.digestChecked).toBe(false);
    expect(stats.bytesRead).toBeLessThan(600 * 1024);
  });

  it.each(['none', 'gzip', 'zstd'] as const)('gives the same result from a %s stream, with the digest checked', async (c) => {
    const seek = await walkLayer(fileLayer(sample), { plan });
    const blob = compress(sample, c);
    const streamed = await walkLayer(streamLayer(blob, c), { plan });
    expect(summary(streamed.result)).toEqual(summary(seek.result));
    expect(streamed.stats.digestChecked).toBe(true);
    // and from a compressed file region (not seekable: streamed from the file)
    if (c !== 'none') expect(summary((await walkLayer(fileLayer(blob), { plan })).result)).toEqual(summary(seek.result));
  });

  it('verify hashes a skip-read layer and fails on a wrong digest', async () => {
    const ok = await walkLayer(fileLayer(sample), { plan, verify: true });
    expect(ok.stats.digestChecked).toBe(true);
    const wrong = `sha256:${'0'.repeat(64)}`;
    await expect(walkLayer(fileLayer(sample, wrong), { plan, verify: true })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(`not the declared ${wrong}`),
    });
    await expect(walkLayer(streamLayer(gzipSync(sample), 'gzip', wrong), { plan })).rejects.toBeInstanceOf(KensusError);
    // a digest we cannot check is reported unchecked, so the cache keeps it out of the shared space
    const other = await walkLayer(streamLayer(gzipSync(sample), 'gzip', `sha512:${'0'.repeat(128)}`), { plan });
    expect(other.stats.digestChecked).toBe(false);
  });

  it('counts a 10 GB sparse file by its declared size and never reads it', async () => {
    const tenGB = 10 * 1024 ** 3;
    const layer = Buffer.concat([
      tarHeader({ name: 'opt/oracle/datafile.dbf', typeflag: 'S', size: 0, realSize: tenGB, gnu: true }),
      ...paxHeader({ path: 'opt/oracle/pax-sparse.dbf', 'GNU.sparse.realsize': String(tenGB) }),
      tarHeader({ name: 'x', size: 0 }),
      tarEnd(),
    ]);
    for (const handle of [fileLayer(layer), streamLayer(gzipSync(layer), 'gzip')]) {
      const { result } = await walkLayer(handle, { plan });
      const e = result.entries.find((x) => x.path === '/opt/oracle/datafile.dbf')!;
      expect(e.size).toBe(tenGB);
      expect(e.content).toBeUndefined();
      expect(result.entries.find((x) => x.path === '/opt/oracle/pax-sparse.dbf')!.size).toBe(tenGB);
    }
  });

  it('skips bodies by a PAX size record (Go writes one for > 8 GiB), and symlinks carry no body', async () => {
    const body = Buffer.alloc(5000, 0x42);
    const layer = Buffer.concat([
      ...paxHeader({ size: String(body.length) }),
      tarHeader({ name: 'opt/oracle/pax-size', size: 0 }),
      body,
      padding(body.length),
      tarHeader({ name: 'opt/oracle/link', typeflag: '2', linkname: 'pax-size', size: 0 }),
      ...tarEntry({ name: 'opt/oracle/after', content: Buffer.from('after') }),
      tarEnd(),
    ]);
    for (const handle of [fileLayer(layer), streamLayer(gzipSync(layer), 'gzip')]) {
      const { result } = await walkLayer(handle, { plan });
      const by = new Map(result.entries.map((e) => [e.path, e]));
      expect(by.get('/opt/oracle/pax-size')).toMatchObject({ size: 5000, truncated: true });
      expect(by.get('/opt/oracle/pax-size')!.content!.toString()).toBe('B'.repeat(64));
      expect(by.get('/opt/oracle/after')!.content!.toString()).toBe('after');
    }
  });

  it('reads base-256 sizes', async () => {
    const body = Buffer.from('base256');
    const layer = Buffer.concat([tarHeader({ name: 'opt/oracle/b256', size: body.length, base256Size: true, gnu: true }), body, padding(body.length), tarEnd()]);
    const { result } = await walkLayer(fileLayer(layer), { plan });
    expect(result.entries[0].content!.toString()).toBe('base256');
  });

  it('fails with exit 2 and one clear line on a truncated tar, truncated gzip, corrupt zstd, corrupt header', async () => {
    const cut = sample.subarray(0, 1536 + 700);
    await expect(walkLayer(fileLayer(cut), { plan })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/truncated/) });
    await expect(walkLayer(streamLayer(cut, 'none'), { plan })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/truncated/) });
    const gz = gzipSync(sample);
    await expect(walkLayer(streamLayer(gz.subarray(0, gz.length - 100), 'gzip'), { plan })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/gzip/),
    });
    const zst = compress(sample, 'zstd');
    const bad = Buffer.from(zst);
    for (let i = 20; i < bad.length; i += 7) bad[i] ^= 0x5a;
    await expect(walkLayer(streamLayer(bad, 'zstd'), { plan })).rejects.toMatchObject({ exitCode: 2 });
    await expect(walkLayer(streamLayer(zst.subarray(0, zst.length >> 1), 'zstd'), { plan })).rejects.toMatchObject({ exitCode: 2 });
    const junk = Buffer.from(sample);
    junk.fill(0x37, 0, 100); // name field overwritten: checksum no longer matches
    await expect(walkLayer(fileLayer(junk), { plan })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/checksum/) });
    for (const err of [await walkLayer(fileLayer(junk), { plan }).catch((e) => e)]) {
      expect(String(err.message)).not.toContain('\n');
    }
  });

  it('stops a gzip bomb at the inflate cap, with bounded memory', async () => {
    // 96 MiB of zeros inside one file, as concatenated gzip members (valid gzip): ~100 KiB.
    const mib = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
    const bomb = Buffer.concat([gzipSync(tarHeader({ name: 'zeros', size: 96 * 1024 * 1024 })), ...Array.from({ length: 96 }, () => mib)]);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    await expect(walkLayer(streamLayer(bomb, 'gzip'), { plan, maxLayerBytes: 32 * 1024 * 1024 })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/inflates to more than 33554432 bytes/),
    });
  });

  it('stops a zstd bomb at the inflate cap without buffering its output', async () => {
    // 512 MiB of zeros in one entry compresses to a few dozen KiB of zstd.
    const header = join(dir, 'bomb-header');
    writeFileSync(header, tarHeader({ name: 'zeros', size: 512 * 1024 ** 2 }));
    const zst = execFileSync('sh', ['-c', '{ cat "$0"; head -c 536870912 /dev/zero; } | zstd -q -c -3', header]);
    expect(zst.length).toBeLessThan(1024 * 1024);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      await expect(walkLayer(streamLayer(zst, 'zstd'), { plan, maxLayerBytes: 64 * 1024 * 1024 })).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringMatching(/decompression bomb/),
      });
    } finally {
      clearInterval(timer);
    }
    expect(peak - before).toBeLessThan(200 * 1024 * 1024);
  });

  it.each(['binary', 'js'] as const)('zstd through the %s decoder: same result, corrupt/truncated data and bombs are exit 2', async (mode) => {
    const old = process.env.KENSUS_ZSTD;
    process.env.KENSUS_ZSTD = mode;
    try {
      const seek = await walkLayer(fileLayer(sample), { plan });
      const zst = compress(sample, 'zstd');
      expect(summary((await walkLayer(streamLayer(zst, 'zstd'), { plan })).result)).toEqual(summary(seek.result));
      const bad = Buffer.from(zst);
      for (let i = 20; i < bad.length; i += 7) bad[i] ^= 0x5a;
      await expect(walkLayer(streamLayer(bad, 'zstd'), { plan })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/zstd|tar/) });
      await expect(walkLayer(streamLayer(zst.subarray(0, zst.length >> 1), 'zstd'), { plan })).rejects.toMatchObject({ exitCode: 2 });
      await expect(walkLayer(streamLayer(Buffer.from('not zstd at all, just text'), 'zstd'), { plan })).rejects.toMatchObject({ exitCode: 2 });
      const header = join(dir, `bomb-header-${mode}`);
      writeFileSync(header, tarHeader({ name: 'zeros', size: 256 * 1024 ** 2 }));
      const bomb = execFileSync('sh', ['-c', '{ cat "$0"; head -c 268435456 /dev/zero; } | zstd -q -c -3', header]);
      await expect(walkLayer(streamLayer(bomb, 'zstd'), { plan, maxLayerBytes: 32 * 1024 * 1024 })).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringMatching(/decompression bomb/),
      });
    } finally {
      if (old === undefined) delete process.env.KENSUS_ZSTD;
      else process.env.KENSUS_ZSTD = old;
    }
  });

  it('walks a raw tar stream without a known digest (pipes) and reports both hashes', async () => {
    const gz = gzipSync(sample);
    const got = await walkTarStream(Readable.from([gz]), 'gzip', { plan, hashTar: true });
    expect(got.storedDigest).toBe(sha256(gz));
    expect(got.tarDigest).toBe(sha256(sample));
    expect(got.result.entries.length).toBeGreaterThan(3);
    // the candidate hard link to a non-candidate cannot get its bytes in one pass: it says so
    expect(got.result.warnings.some((w) => w.includes('hard link to /opt/data.bin'))).toBe(true);
  });

  it('treats an empty archive as an empty layer', async () => {
    const { result } = await walkLayer(fileLayer(tarArchive([])), { plan });
    expect(result.entries).toEqual([]);
  });
});
