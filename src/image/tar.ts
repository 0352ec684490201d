/**
 * Tar header parsing shared by the seek walker (local files) and the stream walker
 * (decompressed streams), so both read ustar, GNU ('L', 'K', 'S') and PAX ('x', 'g') exactly
 * the same way. Only headers are parsed here; bodies are the walkers' business.
 */

import type { RawName } from '../model/entry.js';
import { hashBytes } from '../util/name-hash.js';

export const BLOCK = 512;

/** A malformed or truncated tar: the walkers turn it into a KensusError naming the layer. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** One physical 512-byte header as stored. */
export interface RawHeader {
  name: string;
  mode: number;
  /** Bytes of body stored after the header (and after GNU sparse extension blocks). */
  size: number;
  typeflag: string;
  linkname: string;
  /** GNU sparse ('S'): apparent size of the file. */
  realSize?: number;
  /** GNU sparse ('S'): extension header blocks follow before the body. */
  sparseExtended?: boolean;
}

export function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

function cstring(buf: Buffer, start: number, len: number): string {
  let end = start;
  const stop = start + len;
  while (end < stop && buf[end] !== 0) end++;
  return buf.toString('utf8', start, end);
}

/** Octal (NUL/space padded) or GNU base-256 (high bit set) numeric field. */
export function parseNumeric(buf: Buffer, start: number, len: number, field: string): number {
  const value = numericOrBad(buf, start, len);
  if (value >= 0) return value;
  const first = buf[start];
  throw new TarFormatError(first === 0xff ? `negative base-256 ${field} in tar header` : first & 0x80 ? `${field} too large in tar header` : `bad octal ${field} in tar header`);
}

function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

let sumBuffer: ArrayBufferLike | undefined;
let sumWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * Unsigned sum of the 512 bytes at `off`. The hottest loop of a header walk (one per entry), so
 * a 4-byte-aligned block is summed a word at a time: bytes 0/2 and 1/3 of each word go into two
 * 16-bit lanes, which cannot carry (128 words × 2 × 255 < 65536).
 */
function blockSum(buf: Buffer, off: number): number {
  const start = buf.byteOffset + off;
  if ((start & 3) !== 0) {
    let sum = 0;
    for (let i = off, end = off + BLOCK; i < end; i++) sum += buf[i];
    return sum;
  }
  if (buf.buffer !== sumBuffer) {
    sumBuffer = buf.buffer;
    sumWords = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
  }
  let lanes = 0;
  for (let i = start >>> 2, end = i + BLOCK / 4; i < end; i++) {
    const w = sumWords[i];
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff);
  }
  return (lanes % 65536) + Math.floor(lanes / 65536);
}

function checksumOk(buf: Buffer, off: number): boolean {
  const stored = parseNumeric(buf, off + 148, 8, 'checksum');
  // The plain unsigned sum; the signed variant (some old tars) only when that fails.
  let field = 0;
  for (let i = off + 148; i < off + 156; i++) field += buf[i];
  const unsigned = blockSum(buf, off) - field + 8 * 0x20;
  if (stored === unsigned) return true;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : buf[off + i];
    signed += b > 127 ? b - 256 : b;
  }
  return stored === signed;
}

/** Whether the header block at `off` carries a valid checksum (never throws). */
export function headerChecksumOk(buf: Buffer, off: number): boolean {
  try {
    return checksumOk(buf, off);
  } catch {
    return false;
  }
}

/** A numeric field, or -1 where it is not one (parseNumeric says why); the raw-name fast path uses it as it is. */
function numericOrBad(buf: Uint8Array, start: number, len: number): number {
  const first = buf[start];
  if (first & 0x80) {
    if (first === 0xff) return -1;
    let value = first & 0x7f;
    for (let i = start + 1; i < start + len; i++) value = value * 256 + buf[i];
    return Number.isSafeInteger(value) ? value : -1;
  }
  let value = 0;
  let i = start;
  const stop = start + len;
  while (i < stop && (buf[i] === 0x20 || buf[i] === 0)) i++;
  for (; i < stop; i++) {
    const c = buf[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return -1;
    value = value * 8 + (c - 0x30);
  }
  return value;
}

/**
 * Scans `[start, stop)` (a NUL-terminated field) as a path part in normal form: ASCII, no ''
 * or '.'-led segment. Returns its end (trailing '/'s dropped when `trim`), or -1 when the part
 * needs the full decode. Sets `name.baseStart` past the last '/'.
 */
function plainPart(buf: Uint8Array, start: number, stop: number, name: RawName, trim: boolean): number {
  let end = start;
  while (end < stop && buf[end] !== 0) end++;
  if (trim) while (end > start && buf[end - 1] === 0x2f) end--;
  if (end === start) return -1;
  let prev = 0x2f; // a part starts a segment
  let base = start;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c >= 0x80) return -1;
    if (prev === 0x2f && (c === 0x2f || c === 0x2e)) return -1; // '//', a '.'-led segment ('.', '..', '.wh.', dotfiles)
    if (c === 0x2f) base = i + 1;
    prev = c;
  }
  if (prev === 0x2f) return -1;
  name.baseStart = base;
  return end;
}

/**
 * The fast look at a header: for a plain entry (regular file, directory, device, FIFO; no link,
 * no sparse or meta header) whose name is in normal form, fills `name` with where its path is
 * and returns the bytes of body stored after it. Returns -1 when the header needs the full
 * parse (`parseHeader`): links, odd or non-ASCII names, meta headers, bad numbers, the end block.
 * The checksum is not verified here (`headerChecksumOk`): a caller that skips the entry must.
 */
export function plainEntry(buf: Buffer, off: number, name: RawName): number {
  const type = buf[off + 156];
  // '0', NUL, '7' (contiguous) carry a body; '3', '4', '5', '6' are header-only.
  const headerOnly = type >= 0x33 && type <= 0x36;
  if (!(type === 0x30 || type === 0 || type === 0x37 || headerOnly)) return -1;
  let start = off;
  // `tar -C dir .` writes every name as './...'
  if (buf[start] === 0x2e && buf[start + 1] === 0x2f) start += 2;
  const posix =
    buf[off + 257] === 0x75 && buf[off + 258] === 0x73 && buf[off + 259] === 0x74 && buf[off + 260] === 0x61 && buf[off + 261] === 0x72 && buf[off + 262] === 0;
  if (posix && buf[off + 345] !== 0) {
    // "prefix/name": the prefix must itself be plain and end without '/'
    const prefixEnd = plainPart(buf, off + 345, off + 500, name, false);
    if (prefixEnd < 0 || start !== off) return -1;
    name.prefixStart = off + 345;
    name.prefixEnd = prefixEnd;
  } else {
    name.prefixStart = name.prefixEnd = 0;
  }
  const end = plainPart(buf, start, off + 100, name, true);
  if (end < 0) return -1;
  if (numericOrBad(buf, off + 100, 8) < 0) return -1; // mode: parseHeader names the fault
  const size = numericOrBad(buf, off + 124, 12);
  if (size < 0) return -1;
  name.bytes = buf;
  name.start = start;
  name.end = end;
  name.baseHash = hashBytes(buf, name.baseStart, end);
  let dot = end - 1;
  while (dot >= name.baseStart && buf[dot] !== 0x2e) dot--;
  name.extHash = dot >= name.baseStart ? hashBytes(buf, dot, end) : -1;
  return headerOnly ? 0 : size;
}

/** A RawName to reuse for every header of a walk. */
export function rawNameHolder(): RawName {
  return { bytes: EMPTY, prefixStart: 0, prefixEnd: 0, start: 0, end: 0, baseStart: 0, baseHash: 0, extHash: -1 };
}

const EMPTY = new Uint8Array(0);

/** Parses the header block at `off`; null for an all-zero block (end of archive). */
export function parseHeader(buf: Buffer, off: number): RawHeader | null {
  if (isZeroBlock(buf, off)) return null;
  let ok: boolean;
  try {
    ok = checksumOk(buf, off);
  } catch {
    ok = false;
  }
  if (!ok) throw new TarFormatError('tar header checksum mismatch (not a tar, or corrupt)');
  const typeflag = buf[off + 156] === 0 ? '0' : String.fromCharCode(buf[off + 156]);
  let name = cstring(buf, off, 100);
  // The prefix field exists only in POSIX ustar; GNU tar stores atime/sparse data there.
  // "ustar\0" compared byte by byte: a string per header would cost more than the check.
  const posix =
    buf[off + 257] === 0x75 && buf[off + 258] === 0x73 && buf[off + 259] === 0x74 && buf[off + 260] === 0x61 && buf[off + 261] === 0x72 && buf[off + 262] === 0;
  if (posix && buf[off + 345] !== 0) name = `${cstring(buf, off + 345, 155)}/${name}`;
  const header: RawHeader = {
    name,
    mode: parseNumeric(buf, off + 100, 8, 'mode'),
    size: parseNumeric(buf, off + 124, 12, 'size'),
    typeflag,
    linkname: buf[off + 157] === 0 ? '' : cstring(buf, off + 157, 100),
  };
  if (typeflag === 'S') {
    header.realSize = parseNumeric(buf, off + 483, 12, 'realsize');
    header.sparseExtended = buf[off + 482] !== 0;
  }
  return header;
}

/** PAX extended header records: "<len> key=value\n". */
export function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    let sp = pos;
    while (sp < body.length && body[sp] !== 0x20) sp++;
    const len = Number(body.toString('latin1', pos, sp));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) {
      if (body[pos] === 0) break; // padding
      throw new TarFormatError('malformed PAX header record');
    }
    const record = body.toString('utf8', sp + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

export type LogicalKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** One entry after GNU long names and PAX records were applied. */
/** What a tar walker hands each entry to: how many content bytes to read (0: none), then those bytes. */
export interface EntrySink {
  want(h: LogicalHeader): number;
  content(buf: Buffer): void;
  /**
   * Optional: true when the plain entry whose raw name is given can be skipped unseen (no
   * candidate, no effect on what was kept); `want` is then not called for it.
   */
  rejects?(name: RawName): boolean;
  /** Body bytes of the entry just wanted to stream through `scan` (0: none), asked right after `want`. */
  scanBytes?(): number;
  /** The next bytes of that body, in order; true when the sink needs no more. */
  scan?(chunk: Buffer): boolean;
  /** The scanned body ended (or the sink said it needs no more). */
  scanEnd?(): void;
}

export interface LogicalHeader {
  /** Raw name as stored (not yet normalised). */
  name: string;
  linkname: string;
  kind: LogicalKind;
  mode: number;
  /** Apparent size (sparse: the declared real size). */
  size: number;
  /** Body bytes stored in the archive for this entry. */
  storedSize: number;
  /** Sparse files are counted by declared size; their content is never read. */
  sparse: boolean;
}

/** Meta headers whose bodies must be read to interpret the next entry. */
export function isMetaType(typeflag: string): boolean {
  return typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g' || typeflag === 'X';
}

/** Largest meta body (long name, PAX record set) accepted: more is an attack, not a name. */
export const MAX_META_BYTES = 1 << 20;

/**
 * Folds GNU long name/link and PAX headers into the entry that follows them. Feed meta headers
 * with their bodies through `meta`, then call `entry` for the real header.
 */
const NO_PAX: Readonly<Record<string, string>> = Object.freeze({});
/** The PAX keys `entry` reads. */
const ENTRY_KEYS = ['path', 'linkpath', 'size', 'GNU.sparse.name', 'GNU.sparse.realsize', 'GNU.sparse.size'];
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

export class HeaderAssembler {
  private longName?: string;
  private longLink?: string;
  private pax: Record<string, string> = {};
  private global: Record<string, string> = {};

  meta(raw: RawHeader, body: Buffer): void {
    switch (raw.typeflag) {
      case 'L':
        this.longName = cstring(body, 0, body.length);
        break;
      case 'K':
        this.longLink = cstring(body, 0, body.length);
        break;
      case 'g':
        Object.assign(this.global, parsePax(body));
        this.hasPax = true;
        this.globalMatters = ENTRY_KEYS.some((k) => k in this.global);
        break;
      default:
        Object.assign(this.pax, parsePax(body));
        this.hasPax = true;
        this.localPax = true;
    }
  }

  private hasPax = false;
  private localPax = false;
  /** A global record that changes entries (a path, size...), not just a comment or mtime. */
  private globalMatters = false;

  /**
   * Nothing waits to change the next entry (long name or link, PAX record; a global one only
   * when it sets a key `entry` reads, as `git archive`'s commit comment does not): its raw header is all of it.
   */
  get idle(): boolean {
    return !this.localPax && !this.globalMatters && this.longName === undefined && this.longLink === undefined;
  }

  entry(raw: RawHeader): LogicalHeader {
    // The common case (no PAX, no long names) allocates nothing beyond the result.
    const pax = this.hasPax ? { ...this.global, ...this.pax } : NO_PAX;
    let name = pax['GNU.sparse.name'] ?? pax.path ?? this.longName ?? raw.name;
    const linkname = pax.linkpath ?? this.longLink ?? raw.linkname;
    let storedSize = raw.size;
    if (pax.size !== undefined) {
      const n = Number(pax.size);
      if (!Number.isSafeInteger(n) || n < 0) throw new TarFormatError(`bad PAX size "${pax.size}"`);
      storedSize = n;
    }
    // Header-only types carry no body whatever their size field says (as Go's archive/tar,
    // which unpacks the layers, reads them).
    if (HEADER_ONLY.has(raw.typeflag)) storedSize = 0;
    let size = storedSize;
    let sparse = false;
    if (raw.typeflag === 'S') {
      sparse = true;
      size = raw.realSize ?? storedSize;
    }
    const real = pax['GNU.sparse.realsize'] ?? pax['GNU.sparse.size'];
    if (real !== undefined) {
      sparse = true;
      size = Number(real);
      if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`bad GNU.sparse.realsize "${real}"`);
    }
    // GNU directory names carry a trailing slash; old tars mark directories only by it.
    let kind = kindOf(raw.typeflag);
    if (kind === 'file' && raw.typeflag !== 'S' && name.endsWith('/') && storedSize === 0) kind = 'dir';
    if (name.length > 1 && name.endsWith('/')) name = name.replace(/\/+$/, '');
    this.longName = undefined;
    this.longLink = undefined;
    if (this.hasPax) {
      this.pax = {};
      this.localPax = false;
      this.hasPax = Object.keys(this.global).length > 0;
    }
    return { name, linkname, kind, mode: raw.mode, size, storedSize, sparse };
  }
}

function kindOf(typeflag: string): LogicalKind {
  switch (typeflag) {
    case '0':
    case '7':
    case 'S':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
    case 'D':
      return 'dir';
    default:
      return 'other';
  }
}

/** A relative name without '', '.' or '..' components needs no splitting (the common case). */
function isPlainName(name: string): boolean {
  const c = name.charCodeAt(0);
  if (c === 47 /* / */ || name.length === 0) return false;
  if (c === 46 /* . */ && (name === '.' || name === '..' || name.startsWith('./') || name.startsWith('../'))) return false;
  if (name.charCodeAt(name.length - 1) === 47 || name.endsWith('/.') || name.endsWith('/..')) return false;
  return !name.includes('//') && !name.includes('/./') && !name.includes('/../');
}

/**
 * Normalises an entry name to an absolute path inside the image root: strips './' and a
 * leading '/', collapses '//', resolves '..' lexically. Returns null when the name escapes
 * the root (the entry is dropped, never followed).
 */
export function normaliseEntryPath(name: string): string | null {
  if (isPlainName(name)) return '/' + name;
  // `tar -C dir .` writes every name as './...'.
  if (name.length > 2 && name.charCodeAt(0) === 46 && name.charCodeAt(1) === 47) {
    const rest = name.slice(2);
    if (isPlainName(rest)) return '/' + rest;
  }
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return null;
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return '/' + parts.join('/');
}

/** Number of GNU old-sparse extension blocks following the block at `off` (reads `isextended`). */
export function sparseExtensionContinues(buf: Buffer, off: number): boolean {
  return buf[off + 504] !== 0;
}
