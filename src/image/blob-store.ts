/**
 * Where an image's files live: a tar on disk indexed once by header walk (docker-archive,
 * oci-archive) or a directory (OCI layout). Layers become file regions the walker can seek in;
 * small JSON files are read whole.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput, unreachable } from '../errors.js';
import { BLOCK, HeaderAssembler, MAX_META_BYTES, TarFormatError, isMetaType, normaliseEntryPath, parseHeader, roundUp } from './tar.js';

export interface FileRegion {
  path: string;
  offset: number;
  length: number;
}

export interface BlobStore {
  /** For messages: the archive path or layout directory. */
  readonly describe: string;
  region(rel: string): Promise<FileRegion | undefined>;
  /** Reads a small file whole; undefined when missing. */
  readSmall(rel: string, maxBytes?: number): Promise<Buffer | undefined>;
}

/** Largest JSON document (manifest, index, config) accepted. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

interface IndexedEntry {
  offset: number;
  size: number;
  link?: string;
}

/**
 * Indexes a tar file by walking its headers (bodies are seeked over, never read): name →
 * byte region. One read per 64 KiB of headers.
 */
export function indexTarFile(path: string): Map<string, IndexedEntry> {
  const out = new Map<string, IndexedEntry>();
  const fd = openSync(path, 'r');
  try {
    const window = Buffer.allocUnsafe(64 * 1024);
    let winStart = -1;
    let winLen = 0;
    const read = (pos: number, n: number): Buffer => {
      if (winStart >= 0 && pos >= winStart && pos + n <= winStart + winLen) return window.subarray(pos - winStart, pos - winStart + n);
      if (n > window.length) {
        const b = Buffer.allocUnsafe(n);
        if (readSync(fd, b, 0, n, pos) < n) throw new TarFormatError('truncated tar');
        return b;
      }
      winLen = readSync(fd, window, 0, window.length, pos);
      winStart = pos;
      if (winLen < n) throw new TarFormatError(`truncated tar at offset ${pos + winLen}`);
      return window.subarray(0, n);
    };
    const assembler = new HeaderAssembler();
    const fileSize = fstatSync(fd).size;
    let pos = 0;
    // An archive may end without its two zero blocks: EOF at a header boundary is fine.
    while (pos < fileSize) {
      if (fileSize - pos < BLOCK) throw new TarFormatError(`truncated tar: ${fileSize - pos} stray bytes at the end`);
      const block = read(pos, BLOCK);
      const raw = parseHeader(block, 0);
      if (!raw) break;
      const data = pos + BLOCK;
      let stored = raw.size;
      if (isMetaType(raw.typeflag)) {
        if (raw.size > MAX_META_BYTES) throw new TarFormatError(`tar meta header of ${raw.size} bytes`);
        assembler.meta(raw, Buffer.from(read(data, raw.size)));
      } else {
        const h = assembler.entry(raw);
        stored = h.storedSize; // a PAX size record wins (Go writes one for > 8 GiB members)
        const name = normaliseEntryPath(h.name);
        if (name !== null && name !== '/') {
          const rel = name.slice(1);
          if (h.kind === 'symlink') out.set(rel, { offset: 0, size: 0, link: normaliseEntryPath(joinRel(rel, h.linkname))?.slice(1) });
          else if (h.kind === 'hardlink') out.set(rel, { offset: 0, size: 0, link: normaliseEntryPath(h.linkname)?.slice(1) });
          else if (h.kind === 'file') out.set(rel, { offset: data, size: h.storedSize });
        }
      }
      pos = data + roundUp(stored);
      if (data + stored > fileSize) throw new TarFormatError(`truncated tar: "${raw.name}" runs past the end of the file`);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function joinRel(from: string, target: string): string {
  if (target.startsWith('/')) return target;
  const dir = from.includes('/') ? from.slice(0, from.lastIndexOf('/')) : '';
  return `${dir}/${target}`;
}

/** A tar on disk: docker save output or an OCI layout packed in a tar. */
export class ArchiveStore implements BlobStore {
  private constructor(
    readonly path: string,
    readonly describe: string,
    readonly size: number,
    private readonly index: Map<string, IndexedEntry>,
  ) {}

  static async open(path: string, describe: string): Promise<ArchiveStore> {
    const st = await statFile(path, describe);
    let index: Map<string, IndexedEntry>;
    try {
      index = indexTarFile(path);
    } catch (err) {
      if (err instanceof TarFormatError) {
        throw badInput(`${describe} is not a valid tar archive: ${err.message}`, 'give a file written by docker save, skopeo or buildx');
      }
      throw fileError(err, describe);
    }
    return new ArchiveStore(path, describe, st.size, index);
  }

  has(rel: string): boolean {
    return this.index.has(rel);
  }

  names(): string[] {
    return [...this.index.keys()];
  }

  private lookup(rel: string): IndexedEntry | undefined {
    let e = this.index.get(rel.replace(/^\.?\/+/, ''));
    for (let hops = 0; e?.link !== undefined && hops < 40; hops++) e = this.index.get(e.link);
    return e?.link === undefined ? e : undefined;
  }

  async region(rel: string): Promise<FileRegion | undefined> {
    const e = this.lookup(rel);
    if (!e) return undefined;
    if (e.offset + e.size > this.size) {
      throw badInput(`${this.describe}: "${rel}" runs past the end of the file (truncated archive)`, 'the archive is incomplete; recreate it');
    }
    return { path: this.path, offset: e.offset, length: e.size };
  }

  async readSmall(rel: string, maxBytes = MAX_JSON_BYTES): Promise<Buffer | undefined> {
    const r = await this.region(rel);
    if (!r) return undefined;
    if (r.length > maxBytes) throw badInput(`${this.describe}: "${rel}" is ${r.length} bytes, more than the ${maxBytes} a metadata file may have`);
    const buf = Buffer.allocUnsafe(r.length);
    const fd = openSync(this.path, 'r');
    try {
      if (readSync(fd, buf, 0, r.length, r.offset) < r.length) throw badInput(`${this.describe}: "${rel}" is truncated`);
    } finally {
      closeSync(fd);
    }
    return buf;
  }
}

/** An OCI layout directory. */
export class DirStore implements BlobStore {
  constructor(
    readonly dir: string,
    readonly describe: string,
  ) {}

  async region(rel: string): Promise<FileRegion | undefined> {
    const p = join(this.dir, rel);
    try {
      const st = await stat(p);
      if (!st.isFile()) return undefined;
      return { path: p, offset: 0, length: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fileError(err, p);
    }
  }

  async readSmall(rel: string, maxBytes = MAX_JSON_BYTES): Promise<Buffer | undefined> {
    const r = await this.region(rel);
    if (!r) return undefined;
    if (r.length > maxBytes) throw badInput(`${this.describe}: "${rel}" is ${r.length} bytes, more than the ${maxBytes} a metadata file may have`);
    try {
      return await readFile(r.path);
    } catch (err) {
      throw fileError(err, r.path);
    }
  }
}

/** Turns fs errors into one actionable line: missing → exit 2, unreadable → exit 3. */
export function fileError(err: unknown, what: string): Error {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return badInput(`${what}: no such file or directory`, 'check the path');
    case 'EACCES':
    case 'EPERM':
      return unreachable(`${what}: permission denied`, 'run as a user who can read it, or copy it somewhere readable');
    case 'EISDIR':
      return badInput(`${what} is a directory, not a file`, 'for an OCI layout directory use oci:DIR');
    case 'ENOTDIR':
      return badInput(`${what}: a path component is not a directory`, 'check the path');
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}

/** Stats a path that must be a readable regular file. */
export async function statFile(path: string, describe: string): Promise<{ size: number; mtimeMs: number }> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fileError(err, describe);
  }
  if (st.isDirectory()) throw badInput(`${describe} is a directory, not an archive file`, 'for an OCI layout directory use oci:DIR');
  if (!st.isFile()) throw badInput(`${describe} is not a regular file`);
  try {
    closeSync(openSync(path, 'r'));
  } catch (err) {
    throw fileError(err, describe);
  }
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** Parses JSON of an image metadata file, with an error that names the file. */
export function parseJson<T>(buf: Buffer, what: string): T {
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    throw badInput(`${what} is not valid JSON (${(err as Error).message})`, 'the archive is corrupt; recreate it');
  }
}
