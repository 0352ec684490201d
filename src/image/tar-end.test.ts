import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { BLOCK } from './tar.js';
import { TarEndGuard } from './tar-end.js';
import { paxHeader, tarArchive, tarEnd, tarHeader } from '../fixtures/tar-writer.js';

/** Runs `bytes` through the guard (in `chunk`-byte pieces) into tar-stream: member names and bodies, and whether the guard cut the input. */
async function through(bytes: Buffer, chunk: number): Promise<{ members: Array<[string, Buffer]>; cut: boolean; passed: number }> {
  let cut = false;
  let passed = 0;
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const input = Readable.from(pieces);
  const guard = new TarEndGuard(() => {
    cut = true;
    input.destroy();
  });
  guard.on('data', (b: Buffer) => (passed += b.length));
  const extract = tar.extract();
  const members: Array<[string, Buffer]> = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (d: unknown) => parts.push(d as Buffer));
      stream.on('end', () => {
        members.push([header.name, Buffer.concat(parts)]);
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  input.pipe(guard);
  guard.pipe(extract);
  await done;
  return { members, cut, passed };
}

describe('TarEndGuard', () => {
  const zeros = Buffer.alloc(4 * BLOCK);
  const archive = tarArchive([
    { name: 'zeros.bin', content: zeros },
    { name: 'dir', type: 'dir' },
    { name: 'a.txt', content: Buffer.from('after the zeros\n') },
  ]);

  it('ends at the two zero blocks, not inside a body of zeros, whatever the chunking', async () => {
    const trailing = Buffer.concat([archive, Buffer.alloc(1 << 20)]);
    for (const chunk of [1, 7, 511, 512, 513, 4096, trailing.length]) {
      const r = await through(trailing, chunk);
      expect(r.members.map(([n]) => n)).toEqual(['zeros.bin', 'dir/', 'a.txt']);
      expect(r.members[0][1].equals(zeros)).toBe(true);
      expect(r.cut).toBe(true);
      expect(r.passed).toBe(archive.length);
    }
  });

  it('sizes an entry by its PAX size record, as tar-stream does', async () => {
    const body = Buffer.alloc(3 * BLOCK);
    const bytes = Buffer.concat([
      ...paxHeader({ size: String(body.length) }),
      tarHeader({ name: 'big-by-pax', size: 0 }),
      body,
      tarEnd(),
      Buffer.alloc(8 * BLOCK),
    ]);
    const r = await through(bytes, 100);
    expect(r.members.map(([n, b]) => [n, b.length])).toEqual([['big-by-pax', body.length]]);
    expect(r.passed).toBe(bytes.length - 8 * BLOCK);
  });

  it('passes bytes that are not tar on untouched (the parser reports them)', async () => {
    const junk = Buffer.alloc(4096, 0x41);
    await expect(through(junk, 1000)).rejects.toThrow();
  });
});
