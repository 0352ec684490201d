import { describe, expect, it } from 'vitest';
import { HeaderAssembler, TarFormatError, normaliseEntryPath, parseHeader, parseNumeric, parsePax } from './tar.js';
import { paxHeader, tarHeader } from '../fixtures/tar-writer.js';

describe('normaliseEntryPath', () => {
  it.each([
    ['usr/bin/java', '/usr/bin/java'],
    ['./usr/bin/java', '/usr/bin/java'],
    ['/usr//bin/./java', '/usr/bin/java'],
    ['usr/lib/../bin/java', '/usr/bin/java'],
    ['opt/dir/', '/opt/dir'],
    ['./', '/'],
    ['a/.hidden', '/a/.hidden'],
  ])('%s → %s', (name, want) => expect(normaliseEntryPath(name)).toBe(want));

  it.each(['../etc/passwd', 'a/../../etc/passwd', '/../x', '..'])('rejects %s (escapes the root)', (name) => {
    expect(normaliseEntryPath(name)).toBeNull();
  });
});

describe('tar headers', () => {
  it('parses octal and base-256 numbers', () => {
    const b = Buffer.alloc(12);
    b.write('00000001750\0', 0, 'latin1');
    expect(parseNumeric(b, 0, 12, 'size')).toBe(0o1750);
    const big = tarHeader({ name: 'x', size: 20 * 1024 ** 3, base256Size: true });
    expect(parseHeader(big, 0)!.size).toBe(20 * 1024 ** 3);
  });

  it('names what is wrong with a numeric field that is not one', () => {
    const field = (bytes: number[] | string) => (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
    expect(() => parseNumeric(field('0000009\0'), 0, 8, 'size')).toThrow(/^bad octal size in tar header$/);
    expect(() => parseNumeric(field([0xff, 0, 0, 0, 0, 0, 0, 1]), 0, 8, 'size')).toThrow(/^negative base-256 size in tar header$/);
    expect(() => parseNumeric(field([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0, 12, 'mtime')).toThrow(/^mtime too large in tar header$/);
    expect(parseNumeric(field('  17 \0'), 0, 6, 'mode')).toBe(0o17);
  });

  it('rejects a bad checksum and reads a zero block as the end', () => {
    const h = tarHeader({ name: 'x', size: 1 });
    h[0] = 0x79;
    expect(() => parseHeader(h, 0)).toThrow(TarFormatError);
    expect(parseHeader(Buffer.alloc(512), 0)).toBeNull();
  });

  it('checks the checksum the same at every alignment, with high bytes in every lane', () => {
    // Names of 0xff bytes push both 16-bit lanes of the word-wise sum to their largest values.
    const h = tarHeader({ name: 'x', size: 1 });
    h.fill(0xff, 1, 100);
    h.fill(0xfe, 157, 257);
    h.fill(0xff, 345, 500);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    for (const shift of [0, 1, 2, 3, 4, 512]) {
      const holder = Buffer.alloc(shift + 512 + 8);
      h.copy(holder, shift);
      expect(parseHeader(holder, shift)!.size).toBe(1);
      holder[shift + 300] ^= 1;
      expect(() => parseHeader(holder, shift)).toThrow(TarFormatError);
    }
  });

  it('joins the ustar prefix only for POSIX headers', () => {
    const h = tarHeader({ name: 'file' });
    h.write('some/prefix', 345, 'latin1');
    // recompute checksum
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    expect(parseHeader(h, 0)!.name).toBe('some/prefix/file');
  });

  it('applies PAX path, linkpath and size to the next entry only', () => {
    const [paxHead, paxBody] = paxHeader({ path: 'long/' + 'n'.repeat(200), linkpath: 'target', size: '42' });
    const a = new HeaderAssembler();
    a.meta(parseHeader(paxHead, 0)!, paxBody);
    const first = a.entry(parseHeader(tarHeader({ name: 'short', typeflag: '2' }), 0)!);
    // a symlink is header-only: no body whatever the size says (as Go's archive/tar reads it)
    expect(first).toMatchObject({ name: 'long/' + 'n'.repeat(200), linkname: 'target', storedSize: 0, kind: 'symlink' });
    const second = a.entry(parseHeader(tarHeader({ name: 'plain', size: 3 }), 0)!);
    expect(second).toMatchObject({ name: 'plain', storedSize: 3, kind: 'file' });
    const [sizeHead, sizeBody] = paxHeader({ size: '42' });
    a.meta(parseHeader(sizeHead, 0)!, sizeBody);
    expect(a.entry(parseHeader(tarHeader({ name: 'big', size: 0 }), 0)!)).toMatchObject({ storedSize: 42, size: 42 });
    expect(parsePax(Buffer.from('11 path=ab\n'))).toEqual({ path: 'ab' });
    expect(() => parsePax(Buffer.from('99 path=ab\n'))).toThrow(TarFormatError);
  });
});
