/**
 * rpm's "ndb" backend (SUSE since SLE 15 SP3 / Leap 15.3): /usr/lib/sysimage/rpm/Packages.db.
 * Layout from rpm's lib/backend/ndb/rpmpkg.c, all little-endian:
 *   32-byte header {magic "RpmP", version 0, generation, slotnpages, nextpkgidx, ...};
 *   slotnpages x 4096-byte pages of 16-byte slots {magic "Slot", pkgidx, blkoff, blkcnt}
 *   (the first two slots are the header; pkgidx 0 marks a free slot);
 *   blobs at blkoff x 16: head {magic "BlbS", pkgidx, generation, bloblen}, then the rpm header
 *   blob, then a tail {magic "BlbE", ...}.
 * Hand-written on purpose (first-hour review §7: keep): npm has no maintained reader of it.
 */
export const NDB_MAGIC = 0x506d7052; // 'RpmP'
const SLOT_MAGIC = 0x746f6c53; // 'Slot'
const BLOB_MAGIC = 0x53626c42; // 'BlbS'
const BLOB_TAIL = 0x45626c42; // 'BlbE'
const PAGE = 4096;
const SLOT = 16;
const BLK = 16;
const HEADER = 32;

export class NdbFormatError extends Error {}

export function isNdb(buf: Buffer): boolean {
  return buf.length >= HEADER && buf.readUInt32LE(0) === NDB_MAGIC;
}

/** The header blobs of every used slot; blobs cut off by a truncated file are skipped. */
export function readNdbBlobs(buf: Buffer): Buffer[] {
  if (!isNdb(buf)) throw new NdbFormatError('not an rpm ndb database (bad magic)');
  const slotPages = buf.readUInt32LE(12);
  if (slotPages === 0 || slotPages > 1 << 16) throw new NdbFormatError(`implausible slot page count ${slotPages}`);
  const slotsEnd = Math.min(slotPages * PAGE, buf.length - (buf.length % SLOT));
  const out: Buffer[] = [];
  for (let at = HEADER; at + SLOT <= slotsEnd; at += SLOT) {
    if (buf.readUInt32LE(at) !== SLOT_MAGIC) throw new NdbFormatError(`bad slot magic at offset ${at}`);
    const pkgIdx = buf.readUInt32LE(at + 4);
    if (pkgIdx === 0) continue;
    const off = buf.readUInt32LE(at + 8) * BLK;
    if (off + 16 > buf.length || buf.readUInt32LE(off) !== BLOB_MAGIC || buf.readUInt32LE(off + 4) !== pkgIdx) continue;
    const len = buf.readUInt32LE(off + 12);
    if (off + 16 + len > buf.length) continue;
    out.push(buf.subarray(off + 16, off + 16 + len));
  }
  return out;
}

/** Writes an ndb database holding `blobs` (tests and generated fixtures). */
export function writeNdb(blobs: Buffer[]): Buffer {
  const slotPages = 1;
  const head = Buffer.alloc(slotPages * PAGE);
  head.writeUInt32LE(NDB_MAGIC, 0);
  head.writeUInt32LE(0, 4);
  head.writeUInt32LE(1, 8);
  head.writeUInt32LE(slotPages, 12);
  head.writeUInt32LE(blobs.length + 1, 16);
  const chunks: Buffer[] = [head];
  let blk = head.length / BLK;
  for (let at = HEADER, i = 0; at + SLOT <= head.length; at += SLOT, i++) {
    head.writeUInt32LE(SLOT_MAGIC, at);
    if (i >= blobs.length) continue;
    const blob = blobs[i];
    const total = Math.ceil((16 + blob.length + 12) / BLK) * BLK;
    const b = Buffer.alloc(total);
    b.writeUInt32LE(BLOB_MAGIC, 0);
    b.writeUInt32LE(i + 1, 4);
    b.writeUInt32LE(1, 8);
    b.writeUInt32LE(blob.length, 12);
    blob.copy(b, 16);
    b.writeUInt32LE(BLOB_TAIL, total - 12);
    head.writeUInt32LE(i + 1, at + 4);
    head.writeUInt32LE(blk, at + 8);
    head.writeUInt32LE(total / BLK, at + 12);
    chunks.push(b);
    blk += total / BLK;
  }
  return Buffer.concat(chunks);
}
