import { describe, expect, it } from 'vitest';
import { NeedleScanner, type ScanRequest } from './needle-scan.js';

const HOTSPOT = 'Java HotSpot(TM) 64-Bit Server VM';

function feed(req: ScanRequest, bytes: Buffer, chunk: number): NeedleScanner {
  const s = new NeedleScanner(req);
  for (let i = 0; i < bytes.length && !s.done; i += chunk) s.push(bytes.subarray(i, i + chunk));
  s.end();
  return s;
}

/** A binary-like file: zero bytes with NUL-terminated strings at the given offsets. */
function binary(size: number, strings: Array<[number, string]>): Buffer {
  const buf = Buffer.alloc(size);
  for (const [at, text] of strings) buf.write(`${text}\0`, at, 'latin1');
  return buf;
}

describe('NeedleScanner', () => {
  it('finds a needle cut by every possible chunk boundary, with its window and offset', () => {
    const file = binary(4096, [[1000, 'SQL*Plus: Release 19.0.0.0.0 - Production']]);
    for (let chunk = 1; chunk <= 64; chunk++) {
      const s = feed({ needles: ['SQL*Plus: Release '], budget: 1 << 20, window: 64 }, file, chunk);
      expect(s.hits(), `chunk ${chunk}`).toEqual([{ needle: 'SQL*Plus: Release ', offset: 1000, text: 'SQL*Plus: Release 19.0.0.0.0 - Production' }]);
    }
  });

  it('keeps a window that runs past the chunk open until its end arrives', () => {
    const file = binary(300, [[100, 'MongoDB Enterprise 7.0.14']]);
    // The chunk ends just after the needle: the version comes in the next chunk.
    const s = new NeedleScanner({ needles: ['MongoDB Enterprise'], budget: 1000, window: 32 });
    s.push(file.subarray(0, 118));
    expect(s.hits()).toEqual([]);
    s.push(file.subarray(118));
    expect(s.hits()[0].text).toBe('MongoDB Enterprise 7.0.14');
  });

  it('stops at the first hit of every needle, reads no further', () => {
    const file = binary(1 << 20, [[10, 'OpenJDK 64-Bit Server VM'], [5000, 'OpenJDK 64-Bit Server VM later']]);
    const s = new NeedleScanner({ needles: ['OpenJDK 64-Bit Server VM'], budget: 1 << 30, window: 0 });
    expect(s.push(file.subarray(0, 4096))).toBe(true);
    expect(s.scanned).toBe(4096);
    expect(s.hits()).toEqual([{ needle: 'OpenJDK 64-Bit Server VM', offset: 10, text: 'OpenJDK 64-Bit Server VM' }]);
  });

  it('looks at no byte past the budget, even when the needle follows right after it', () => {
    const at = 100_000;
    const file = binary(200_000, [[at, HOTSPOT]]);
    const before = feed({ needles: [HOTSPOT], budget: at + HOTSPOT.length - 1, window: 0 }, file, 8192);
    expect(before.hits()).toEqual([]);
    expect(before.scanned).toBe(at + HOTSPOT.length - 1);
    const exact = feed({ needles: [HOTSPOT], budget: at + HOTSPOT.length, window: 0 }, file, 8192);
    expect(exact.hits().map((h) => h.offset)).toEqual([at]);
  });

  it('cuts the window at the budget and at the first unprintable byte', () => {
    const file = binary(1000, [[0, 'Release 19.0.0.0.0 - Production']]);
    const s = feed({ needles: ['Release '], budget: 12, window: 64 }, file, 5);
    expect(s.hits()[0].text).toBe('Release 19.0');
    const t = feed({ needles: ['Release '], budget: 1000, window: 64 }, file, 7);
    expect(t.hits()[0].text).toBe('Release 19.0.0.0.0 - Production');
  });

  it('finds several needles, each once, in the order asked', () => {
    const file = binary(10_000, [[9000, 'Java(TM) SE Runtime Environment'], [20, HOTSPOT]]);
    const s = feed({ needles: ['Java(TM) SE Runtime Environment', HOTSPOT, 'absent needle'], budget: 1 << 20, window: 0 }, file, 333);
    expect(s.hits().map((h) => [h.needle, h.offset])).toEqual([
      ['Java(TM) SE Runtime Environment', 9000],
      [HOTSPOT, 20],
    ]);
  });

  it('scans a file of 256 MiB streamed in 1 MiB chunks while holding only a carry of bytes', () => {
    const MiB = 1 << 20;
    const size = 256 * MiB;
    const at = size - 3 * MiB + MiB / 2 - 10; // across a chunk boundary near the end
    const chunk = Buffer.alloc(MiB);
    const s = new NeedleScanner({ needles: [HOTSPOT], budget: size, window: 16 });
    const needle = Buffer.from(`${HOTSPOT} mixed mode\0`, 'latin1');
    const heapBefore = process.memoryUsage().arrayBuffers;
    for (let off = 0; off < size && !s.done; off += MiB) {
      chunk.fill(0x41); // 'A': printable filler, the worst case for the window
      const from = Math.max(at, off);
      const to = Math.min(at + needle.length, off + MiB);
      if (from < to) needle.copy(chunk, from - off, from - at, to - at);
      s.push(chunk);
      // Between pushes the scanner keeps at most the longest needle plus its window.
      expect((s as unknown as { carry: Buffer }).carry.length).toBeLessThanOrEqual(HOTSPOT.length + 16 + 1);
    }
    s.end();
    expect(s.hits()).toEqual([{ needle: HOTSPOT, offset: at, text: `${HOTSPOT} mixed mode` }]);
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(64 * MiB);
  });

  it("stops once one needle of every group is found: a rule's alternatives stand for one another", () => {
    const file = binary(1 << 20, [[100, HOTSPOT], [200, `${HOTSPOT} (21.0.5+9-LTS-239)`]]);
    const groups = [[HOTSPOT, 'Java HotSpot(TM) Client VM'], [`${HOTSPOT} (`, 'Java HotSpot(TM) Client VM (']];
    const s = new NeedleScanner({ needles: groups.flat(), groups, budget: 1 << 20, window: 20 });
    expect(s.push(file.subarray(0, 4096))).toBe(true);
    expect(s.hits().map((h) => [h.needle, h.offset])).toEqual([
      [HOTSPOT, 100],
      [`${HOTSPOT} (`, 200],
    ]);
    // Without groups the absent alternatives keep the search going to the end of the budget.
    const all = new NeedleScanner({ needles: groups.flat(), budget: 1 << 20, window: 20 });
    expect(all.push(file.subarray(0, 4096))).toBe(false);
  });

  it('with no needles or no budget it is done before any byte', () => {
    expect(new NeedleScanner({ needles: [], budget: 100, window: 0 }).done).toBe(true);
    expect(new NeedleScanner({ needles: ['x'], budget: 0, window: 0 }).done).toBe(true);
  });
});
