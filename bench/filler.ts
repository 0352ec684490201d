/**
 * Deterministic file contents for the generated images. Text-like bytes from a seeded PRNG:
 * they compress about 3:1, like real binaries and data, so gzip and zstd layers cost what real
 * ones cost (all-zero files would make inflate look free).
 */
const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore ' +
  'et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ' +
  'ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla ' +
  'pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim ' +
  'id est laborum 0x7f454c46 libc.so.6 GLIBC_2.34 __cxa_finalize _ITM_registerTMCloneTable .text .data'
).split(' ');

/** xorshift32: fast, deterministic, good enough for filler. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** `size` bytes of words, random bytes and digits, the same for the same seed. */
export function filler(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const next = prng(seed);
  let i = 0;
  while (i < size) {
    const r = next();
    if ((r & 7) === 0) {
      // a short run of incompressible bytes, like machine code
      const n = Math.min(size - i, 4 + ((r >>> 3) & 15));
      for (let k = 0; k < n; k++) out[i++] = next() & 0xff;
    } else {
      const w = WORDS[(r >>> 3) % WORDS.length];
      const n = Math.min(size - i, w.length);
      out.write(w.slice(0, n), i, n, 'latin1');
      i += n;
      if (i < size) out[i++] = (r >>> 24) & 1 ? 0x20 : 0x0a;
    }
  }
  return out;
}

const BLOCK = 4 << 20;
let block: Buffer | null = null;

/**
 * Calls `sink` with pieces totalling `size` bytes for a big file. The 4 MiB block repeats, which
 * gzip (32 KiB window) and zstd at its default level (window below 4 MiB) cannot exploit.
 */
export function bigFiller(size: number, sink: (chunk: Buffer) => void, salt = 0): void {
  block ??= filler(0xb16f11e, BLOCK);
  let left = size;
  let first = true;
  while (left > 0) {
    const n = Math.min(left, BLOCK);
    let chunk = block.subarray(0, n);
    if (first && salt) {
      // a different first block per file, so two equal-sized files differ
      chunk = filler(salt, n);
      first = false;
    }
    sink(chunk);
    left -= n;
  }
}
