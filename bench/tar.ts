/**
 * A small synchronous tar writer for the benchmark images. It writes straight to a file
 * descriptor through one reusable buffer and hashes the bytes as they go, so a 4 GB layer
 * is never held in memory and its diffId is known when the last block is written.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

export type TarType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** Path inside the archive, without a leading '/'; directories may end in '/'. */
  path: string;
  type: TarType;
  mode: number;
  size?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
}

const TYPE_FLAG: Record<TarType, string> = {
  file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6',
};

/** Fixed mtime for generated entries: deterministic archives. */
export const FIXED_MTIME = 1_700_000_000;

function octal(buf: Buffer, off: number, len: number, value: number): void {
  const s = Math.floor(value).toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new Error(`tar: value ${value} does not fit ${len} octal digits`);
  buf.write(s, off, len - 1, 'ascii');
  buf[off + len - 1] = 0;
}

function checksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  octal(h, 148, 7, sum);
  h[155] = 0x20;
}

/** Splits a long name into ustar prefix/name, or returns null when it cannot fit. */
function splitUstar(path: string): [string, string] | null {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return [prefix, name];
  }
  return null;
}

function rawHeader(name: string, prefix: string, e: TarEntry, typeFlag: string, size: number, link: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, e.uid ?? 0);
  octal(h, 116, 8, e.gid ?? 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, e.mtime ?? FIXED_MTIME);
  h.write(typeFlag, 156, 1, 'ascii');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'binary');
  octal(h, 329, 8, e.devMajor ?? 0);
  octal(h, 337, 8, e.devMinor ?? 0);
  h.write(prefix, 345, 155, 'utf8');
  checksum(h);
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** The header block(s) of one entry: a PAX extended header first when names are too long. */
export function tarHeader(e: TarEntry): Buffer {
  const size = e.type === 'file' ? e.size ?? 0 : 0;
  const link = e.linkTarget ?? '';
  const split = splitUstar(e.path);
  const longLink = Buffer.byteLength(link) > 100;
  if (split && !longLink) return rawHeader(split[1], split[0], e, TYPE_FLAG[e.type], size, link);
  let pax = '';
  if (!split) pax += paxRecord('path', e.path);
  if (longLink) pax += paxRecord('linkpath', link);
  const paxBody = Buffer.from(pax, 'utf8');
  const paxHead = rawHeader('PaxHeaders/' + e.path.slice(-80), '', { path: '', type: 'file', mode: 0o644 }, 'x', paxBody.length, '');
  const shortName = split ?? ['', e.path.slice(0, 100)];
  const main = rawHeader(shortName[1], shortName[0], e, TYPE_FLAG[e.type], size, longLink ? link.slice(0, 100) : link);
  return Buffer.concat([paxHead, paxBody, Buffer.alloc(padding(paxBody.length)), main]);
}

export function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** Writes a tar file block by block through a 4 MiB buffer, hashing as it goes. */
export class TarFileWriter {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(4 << 20);
  private used = 0;
  private readonly hash: Hash = createHash('sha256');
  private total = 0;
  private pendingBody = 0;

  /** `hash: false` for outer archives whose own digest nobody needs (saves ~1 s per GB). */
  constructor(readonly path: string, private readonly hashing = true) {
    this.fd = openSync(path, 'w');
  }

  /** Raw bytes into the archive (headers, bodies). */
  write(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.buf.length - this.used);
      data.copy(this.buf, this.used, off, off + n);
      this.used += n;
      off += n;
      if (this.used === this.buf.length) this.flush();
    }
  }

  private flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    if (this.hashing) this.hash.update(chunk);
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
    this.total += this.used;
    this.used = 0;
  }

  /** An entry with its whole body in memory (small files). */
  add(e: TarEntry, body?: Buffer): void {
    const size = body?.length ?? 0;
    this.write(tarHeader({ ...e, size: e.type === 'file' ? size : 0 }));
    if (body && size > 0) {
      this.write(body);
      this.write(ZEROS.subarray(0, padding(size)));
    }
  }

  /** Starts a file entry whose body is then given in pieces with `body()`; `endBody()` pads it. */
  begin(e: TarEntry & { size: number }): void {
    this.write(tarHeader(e));
    this.pendingBody = e.size;
  }

  body(chunk: Buffer): void {
    if (chunk.length > this.pendingBody) throw new Error(`tar: body longer than declared for ${this.path}`);
    this.pendingBody -= chunk.length;
    this.write(chunk);
  }

  endBody(declared: number): void {
    if (this.pendingBody !== 0) throw new Error(`tar: body ${this.pendingBody} bytes short in ${this.path}`);
    this.write(ZEROS.subarray(0, padding(declared)));
  }

  /** Two zero blocks, flush, close. Returns the byte size and the sha256 of the whole tar. */
  end(): { size: number; sha256: string } {
    this.write(ZEROS.subarray(0, 1024));
    this.flush();
    closeSync(this.fd);
    return { size: this.total, sha256: this.hash.digest('hex') };
  }
}

const ZEROS = Buffer.alloc(1024);
