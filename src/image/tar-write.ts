/**
 * A small deterministic tar writer for generated images (fixtures, tests, the demo). It writes
 * ustar headers, PAX records for long names, and lets tests craft odd headers (GNU long names,
 * base-256 sizes, sparse files) that real-world archives contain.
 */
import { BLOCK, roundUp } from './tar.js';

export interface TarHeaderInput {
  name: string;
  /** '0' file, '1' hardlink, '2' symlink, '5' dir, 'x' PAX, 'L' GNU long name, 'S' sparse ... */
  typeflag?: string;
  mode?: number;
  size?: number;
  linkname?: string;
  mtime?: number;
  /** GNU magic ("ustar  \0") instead of POSIX ("ustar\0" "00"). */
  gnu?: boolean;
  /** Encode the size field in base-256 (GNU extension for sizes >= 8 GiB). */
  base256Size?: boolean;
  /** GNU sparse: real (apparent) size, written at offset 483. */
  realSize?: number;
}

function writeOctal(buf: Buffer, value: number, off: number, len: number): void {
  const s = value.toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new Error(`value ${value} does not fit an octal field of ${len}`);
  buf.write(s, off, len - 1, 'latin1');
  buf[off + len - 1] = 0;
}

function writeBase256(buf: Buffer, value: number, off: number, len: number): void {
  let v = BigInt(value);
  for (let i = off + len - 1; i > off; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[off] = 0x80;
}

/** One 512-byte header block with a valid checksum. */
export function tarHeader(h: TarHeaderInput): Buffer {
  const buf = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(h.name, 'utf8');
  nameBytes.copy(buf, 0, 0, Math.min(100, nameBytes.length));
  writeOctal(buf, h.mode ?? 0o644, 100, 8);
  writeOctal(buf, 0, 108, 8);
  writeOctal(buf, 0, 116, 8);
  if (h.base256Size) writeBase256(buf, h.size ?? 0, 124, 12);
  else writeOctal(buf, h.size ?? 0, 124, 12);
  writeOctal(buf, h.mtime ?? 0, 136, 12);
  buf.write(h.typeflag ?? '0', 156, 1, 'latin1');
  if (h.linkname) Buffer.from(h.linkname, 'utf8').copy(buf, 157, 0, 100);
  if (h.gnu) buf.write('ustar  \0', 257, 8, 'latin1');
  else {
    buf.write('ustar\0', 257, 6, 'latin1');
    buf.write('00', 263, 2, 'latin1');
  }
  if (h.realSize !== undefined) {
    if (h.realSize >= 8 ** 11) writeBase256(buf, h.realSize, 483, 12);
    else writeOctal(buf, h.realSize, 483, 12);
  }
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[i];
  writeOctal(buf, sum, 148, 7);
  buf[155] = 0x20;
  return buf;
}

export function padding(size: number): Buffer {
  return Buffer.alloc(roundUp(size) - size);
}

/** A PAX 'x' header plus its body, for the entry that follows. */
export function paxHeader(records: Record<string, string>): Buffer[] {
  let body = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
    body += `${len}${rest}`;
  }
  const bytes = Buffer.from(body, 'utf8');
  return [tarHeader({ name: 'PaxHeader', typeflag: 'x', size: bytes.length }), bytes, padding(bytes.length)];
}

/** A GNU 'L' (long name) or 'K' (long link) header plus its body. */
export function gnuLongHeader(typeflag: 'L' | 'K', value: string): Buffer[] {
  const bytes = Buffer.from(value + '\0', 'utf8');
  return [tarHeader({ name: '././@LongLink', typeflag, size: bytes.length, gnu: true }), bytes, padding(bytes.length)];
}

export interface TarEntryInput {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode?: number;
  content?: Buffer;
  linkname?: string;
}

const typeflags = { file: '0', dir: '5', symlink: '2', hardlink: '1' } as const;

/** Header (with PAX records when a name does not fit ustar), body and padding of one entry. */
export function tarEntry(e: TarEntryInput): Buffer[] {
  const type = e.type ?? 'file';
  const content = type === 'file' ? (e.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const out: Buffer[] = [];
  const name = type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(name) > 100) pax.path = name;
  if (e.linkname && Buffer.byteLength(e.linkname) > 100) pax.linkpath = e.linkname;
  if (Object.keys(pax).length) out.push(...paxHeader(pax));
  out.push(
    tarHeader({
      name,
      typeflag: typeflags[type],
      mode: e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      size: content.length,
      linkname: e.linkname,
    }),
  );
  if (content.length) out.push(content, padding(content.length));
  return out;
}

/** The two zero blocks that end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

/** A whole archive in memory (small generated archives only). */
export function tarArchive(entries: TarEntryInput[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(...tarEntry(e));
  parts.push(tarEnd());
  return Buffer.concat(parts);
}
