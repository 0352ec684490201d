/**
 * Reads the values of a Berkeley DB hash database, the format of rpm's legacy
 * /var/lib/rpm/Packages (key: header instance number, value: rpm header blob).
 * Layout from Berkeley DB's dbinc/db_page.h (DBMETA/HMETA, PAGE, HOFFPAGE) and hash/hash_page.c:
 *   page 0: hash metadata (magic 0x061561 at offset 12 tells the byte order, pagesize at 20);
 *   hash pages (type 13, or 2 unsorted): 26-byte header, then `entries` uint16 item offsets,
 *   items alternate key/data; an item starts with its type: 1 H_KEYDATA (bytes follow),
 *   3 H_OFFPAGE {type, pad[3], pgno u32, tlen u32} pointing to a chain of overflow pages
 *   (type 7) whose header's hf_offset holds the bytes used on that page.
 * Only what rpm needs is read; no writes, no locking, no environment files.
 * Hand-written on purpose (first-hour review §7: keep): npm has no maintained reader of rpm's
 * Berkeley DB or ndb databases; the same holds for rpm-ndb.ts and rpm-header.ts.
 */
export const DB_HASHMAGIC = 0x061561;
export const P = { HASH_UNSORTED: 2, OVERFLOW: 7, HASHMETA: 8, HASH: 13 } as const;
export const H = { KEYDATA: 1, DUPLICATE: 2, OFFPAGE: 3, OFFDUP: 4 } as const;
const PAGE_HEADER = 26;

export class BdbFormatError extends Error {}

export function isBdbHash(buf: Buffer): boolean {
  return buf.length >= 512 && (buf.readUInt32LE(12) === DB_HASHMAGIC || buf.readUInt32BE(12) === DB_HASHMAGIC);
}

/** Every value stored in the hash database, in page order. Truncated files yield what is whole. */
export function readBdbHashValues(buf: Buffer): Buffer[] {
  if (buf.length < 512) throw new BdbFormatError('file too short for a Berkeley DB database');
  const le = buf.readUInt32LE(12) === DB_HASHMAGIC;
  if (!le && buf.readUInt32BE(12) !== DB_HASHMAGIC) throw new BdbFormatError('not a Berkeley DB hash database (bad magic)');
  const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const u16 = (at: number): number => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new BdbFormatError(`implausible Berkeley DB page size ${pageSize}`);
  }
  const pages = Math.floor(buf.length / pageSize);
  const values: Buffer[] = [];

  const overflow = (first: number, total: number): Buffer | null => {
    const parts: Buffer[] = [];
    let got = 0;
    let pgno = first;
    for (let steps = 0; pgno !== 0 && got < total; steps++) {
      if (pgno >= pages || steps > pages) return null; // truncated file or a loop
      const base = pgno * pageSize;
      if (buf[base + 25] !== P.OVERFLOW) return null;
      const used = Math.min(u16(base + 22), pageSize - PAGE_HEADER, total - got);
      parts.push(buf.subarray(base + PAGE_HEADER, base + PAGE_HEADER + used));
      got += used;
      pgno = u32(base + 16);
    }
    return got === total ? Buffer.concat(parts, total) : null;
  };

  for (let pgno = 1; pgno < pages; pgno++) {
    const base = pgno * pageSize;
    const type = buf[base + 25];
    if (type !== P.HASH && type !== P.HASH_UNSORTED) continue;
    const entries = u16(base + 20);
    if (PAGE_HEADER + entries * 2 > pageSize) continue;
    const offsetOf = (i: number): number => u16(base + PAGE_HEADER + i * 2);
    for (let i = 1; i < entries; i += 2) {
      const off = offsetOf(i);
      if (off < PAGE_HEADER || off >= pageSize) continue;
      const at = base + off;
      const itemType = buf[at];
      if (itemType === H.OFFPAGE) {
        const v = overflow(u32(at + 4), u32(at + 8));
        if (v) values.push(v);
      } else if (itemType === H.KEYDATA) {
        const end = offsetOf(i - 1);
        if (end > off && end <= pageSize) values.push(buf.subarray(at + 1, base + end));
      }
    }
  }
  return values;
}

/**
 * Writes a minimal little-endian hash database holding `values` (keys: 1..n as uint32), with
 * every value stored off-page like rpm's large headers. For tests and generated fixtures.
 */
export function writeBdbHash(values: Buffer[], pageSize = 4096): Buffer {
  const dataPerPage = pageSize - PAGE_HEADER;
  const pages: Buffer[] = [];
  const newPage = (type: number): Buffer => {
    const p = Buffer.alloc(pageSize);
    p.writeUInt32LE(pages.length, 8);
    p[25] = type;
    pages.push(p);
    return p;
  };
  const meta = newPage(P.HASHMETA);
  meta.writeUInt32LE(DB_HASHMAGIC, 12);
  meta.writeUInt32LE(9, 16);
  meta.writeUInt32LE(pageSize, 20);
  meta[25] = P.HASHMETA;
  // One bucket page per value keeps the writer trivial; readers walk all pages anyway.
  for (let k = 0; k < values.length; k++) {
    const bucket = newPage(P.HASH);
    const chainStart = pages.length;
    const v = values[k];
    for (let off = 0; off < v.length; off += dataPerPage) {
      const ov = newPage(P.OVERFLOW);
      const chunk = v.subarray(off, off + dataPerPage);
      chunk.copy(ov, PAGE_HEADER);
      ov.writeUInt16LE(chunk.length, 22);
      ov.writeUInt32LE(off + dataPerPage < v.length ? pages.length : 0, 16);
      if (off > 0) ov.writeUInt32LE(pages.length - 2, 12);
    }
    // Items grow down from the page end: key (H_KEYDATA + uint32), then data (H_OFFPAGE).
    const keyOff = pageSize - 5;
    bucket[keyOff] = H.KEYDATA;
    bucket.writeUInt32LE(k + 1, keyOff + 1);
    const dataOff = keyOff - 12;
    bucket[dataOff] = H.OFFPAGE;
    bucket.writeUInt32LE(v.length ? chainStart : 0, dataOff + 4);
    bucket.writeUInt32LE(v.length, dataOff + 8);
    bucket.writeUInt16LE(2, 20);
    bucket.writeUInt16LE(dataOff, 22);
    bucket.writeUInt16LE(keyOff, PAGE_HEADER);
    bucket.writeUInt16LE(dataOff, PAGE_HEADER + 2);
  }
  meta.writeUInt32LE(pages.length - 1, 32);
  meta.writeUInt32LE(values.length, 40);
  meta.writeUInt32LE(values.length, 44);
  return Buffer.concat(pages);
}
