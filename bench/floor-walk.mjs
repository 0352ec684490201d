#!/usr/bin/env node
// The floor: the least work any reader of an image archive must do, written as plainly and as
// fast as we can in Node, with no matching at all. Plain .mjs, not TypeScript, so the floor pays
// no loader cost (Kensus itself runs compiled JS from dist/).
//
//   node bench/floor-walk.mjs FILE   seek over bodies (outer archive and uncompressed layers),
//                                    inflate gzip layers inline (zlib), zstd layers via `zstd -dc`
//   node bench/floor-walk.mjs -      the same archive as a stream on stdin: every byte is read
//   node bench/floor-walk.mjs --parallel FILE
//                                    floor-walk-parallel: as FILE, with the compressed layers
//                                    inflated concurrently (as many at once as there are cores;
//                                    zlib runs on libuv's thread pool, zstd in its own processes),
//                                    the floor for compressed shapes on a multi-core machine
//
// Prints {"entries":N,"layers":L,"bytes":B} (entries of all layer tars, bytes of their headers'
// declared sizes) so tests can check it read what was there.
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createGunzip } from 'node:zlib';

const stats = { entries: 0, layers: 0, bytes: 0 };

/** Size field of a header at `o`: octal, or base-256 when the high bit is set. */
function sizeAt(b, o) {
  if (b[o + 124] & 0x80) {
    let v = 0;
    for (let i = o + 125; i < o + 136; i++) v = v * 256 + b[i];
    return v;
  }
  let v = 0;
  for (let i = o + 124; i < o + 136; i++) {
    const c = b[i];
    if (c >= 48 && c <= 55) v = v * 8 + (c - 48);
    else if (v > 0 || (c !== 32 && c !== 0)) break;
  }
  return v;
}

const isZeroBlock = (b, o) => b[o] === 0 && b[o + 148] === 0 && b[o + 124] === 0;
const isUstar = (b, o) => b[o + 257] === 0x75 && b[o + 258] === 0x73 && b[o + 259] === 0x74 && b[o + 260] === 0x61 && b[o + 261] === 0x72;
const blocks = (n) => Math.ceil(n / 512) * 512;

// ---- file: seek over bodies, reading 64 KiB windows so runs of small entries cost one read ----

const WIN = 64 * 1024;
const win = Buffer.allocUnsafe(WIN);
let winFd = -1;
let winStart = 0;
let winLen = 0;

function at(fd, offset, end) {
  if (fd !== winFd || offset < winStart || offset + 512 > winStart + winLen) {
    winFd = fd;
    winStart = offset;
    winLen = readSync(fd, win, 0, Math.min(WIN, end - offset), offset);
    if (winLen < 512) return -1;
  }
  return offset - winStart;
}

/** Walks a tar region of a file; `onEntry(name, bodyOffset, size)` for the outer archive only. */
function seekWalk(fd, start, end, onEntry) {
  let off = start;
  while (off + 512 <= end) {
    const o = at(fd, off, end);
    if (o < 0 || isZeroBlock(win, o)) break;
    const size = sizeAt(win, o);
    if (onEntry) {
      const nameEnd = win.indexOf(0, o);
      const name = win.toString('utf8', o, nameEnd > o && nameEnd < o + 100 ? nameEnd : o + 100);
      const prefix = isUstar(win, o) && win[o + 345] ? win.toString('utf8', o + 345, win.indexOf(0, o + 345)) + '/' : '';
      onEntry(prefix + name, off + 512, size);
    } else {
      stats.entries++;
      stats.bytes += size;
    }
    off += 512 + blocks(size);
  }
}

// ---- streams: a push parser; bodies are consumed, never copied ----

class StreamTar {
  constructor(onEntry) {
    this.onEntry = onEntry; // (name, size) => nested StreamTar or null; only for the outer archive
    this.head = Buffer.alloc(512);
    this.fill = 0;
    this.data = 0; // body bytes left
    this.pad = 0;
    this.nested = null;
    this.done = false;
    this.checked = onEntry !== null; // a nested body must prove it is a tar (ustar magic) first
  }

  header(b, o) {
    if (isZeroBlock(b, o)) {
      this.done = true;
      return;
    }
    if (!this.checked) {
      this.checked = true;
      if (!isUstar(b, o)) {
        this.done = true;
        return;
      }
      stats.layers++;
    }
    const size = sizeAt(b, o);
    if (this.onEntry) {
      const nameEnd = b.indexOf(0, o);
      const name = b.toString('utf8', o, nameEnd > o && nameEnd < o + 100 ? nameEnd : o + 100);
      this.nested = this.onEntry(name, size);
    } else {
      stats.entries++;
      stats.bytes += size;
    }
    this.data = size;
    this.pad = blocks(size) - size;
  }

  push(c) {
    let i = 0;
    const n = c.length;
    while (i < n && !this.done) {
      if (this.data > 0) {
        const k = Math.min(this.data, n - i);
        if (this.nested) this.nested.push(c.subarray(i, i + k));
        this.data -= k;
        i += k;
        if (this.data === 0) this.nested = null;
      } else if (this.pad > 0) {
        const k = Math.min(this.pad, n - i);
        this.pad -= k;
        i += k;
      } else if (this.fill === 0 && n - i >= 512) {
        this.header(c, i);
        i += 512;
      } else {
        const k = Math.min(512 - this.fill, n - i);
        c.copy(this.head, this.fill, i, i + k);
        this.fill += k;
        i += k;
        if (this.fill === 512) {
          this.fill = 0;
          this.header(this.head, 0);
        }
      }
    }
  }
}

/** Streams a compressed layer region through an inflater into a StreamTar. */
function inflateWalk(path, start, size, kind) {
  return new Promise((resolve, reject) => {
    const tar = new StreamTar(null);
    const src = createReadStream(path, { start, end: start + size - 1, highWaterMark: 1 << 20 });
    src.on('error', reject);
    if (kind === 'gzip') {
      const gz = createGunzip({ chunkSize: 256 * 1024 });
      gz.on('data', (c) => tar.push(c)).on('end', resolve).on('error', reject);
      src.pipe(gz);
    } else {
      const z = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'inherit'] });
      z.stdout.on('data', (c) => tar.push(c));
      z.on('error', reject);
      z.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd exited ${code}`))));
      src.pipe(z.stdin);
    }
  });
}

async function walkFile(path, parallel) {
  const fd = openSync(path, 'r');
  const end = Infinity;
  const compressed = [];
  const sniff = Buffer.allocUnsafe(512);
  seekWalk(fd, 0, end, (name, body, size) => {
    if (size < 512 || !(name.endsWith('layer.tar') || name.startsWith('blobs/'))) return;
    readSync(fd, sniff, 0, 512, body);
    if (isUstar(sniff, 0)) {
      stats.layers++;
      seekWalk(fd, body, body + size, null);
    } else if (sniff[0] === 0x1f && sniff[1] === 0x8b) compressed.push([body, size, 'gzip']);
    else if (sniff[0] === 0x28 && sniff[1] === 0xb5 && sniff[2] === 0x2f && sniff[3] === 0xfd) compressed.push([body, size, 'zstd']);
  });
  // the walks share one thread for parsing; only the inflating runs concurrently
  let next = 0;
  const worker = async () => {
    while (next < compressed.length) {
      const [body, size, kind] = compressed[next++];
      await inflateWalk(path, body, size, kind);
    }
  };
  const lanes = parallel ? Math.max(1, Math.min(availableParallelism(), compressed.length)) : 1;
  await Promise.all(Array.from({ length: lanes }, worker));
  closeSync(fd);
}

function walkStdin() {
  const outer = new StreamTar((name, size) => {
    if (size >= 512 && (name.endsWith('layer.tar') || name.startsWith('blobs/'))) return new StreamTar(null);
    return null;
  });
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    let n;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    outer.push(buf.subarray(0, n));
  }
}

const parallel = process.argv[2] === '--parallel';
const arg = process.argv[parallel ? 3 : 2];
if (!arg || (parallel && arg === '-')) {
  process.stderr.write('usage: floor-walk.mjs FILE | - | --parallel FILE\n');
  process.exit(2);
}
if (arg === '-') walkStdin();
else await walkFile(arg, parallel);
process.stdout.write(JSON.stringify(stats) + '\n');
