import type { InstalledPackage } from '../model/entry.js';

/**
 * The rpm header blob as rpm stores it in its databases (no lead, no 8-byte header magic):
 *   int32 il (index entries), int32 dl (data bytes), il x 16-byte entries
 *   {int32 tag, int32 type, int32 offset, int32 count}, then dl bytes of data. Big-endian.
 * Reference: rpm's lib/header.c / header_internal.h and the "RPM file format" chapter of
 * rpm.org's documentation (tag numbers in rpmtag.h). Hand-written on purpose (first-hour review
 * §7: keep): npm has no maintained parser of header blobs read out of rpm's databases.
 */
export const RPMTAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  VENDOR: 1011,
  ARCH: 1022,
} as const;

export const RPM_TYPE = { INT32: 4, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

export interface RpmHeaderFields {
  name: string;
  version: string | null;
  release: string | null;
  epoch: number | null;
  arch: string | null;
  vendor: string | null;
}

const MAX_ENTRIES = 65536;

/** Returns null for a blob that is not a well-formed header (the caller skips it). */
export function parseRpmHeaderBlob(blob: Buffer): RpmHeaderFields | null {
  if (blob.length < 8) return null;
  const il = blob.readInt32BE(0);
  const dl = blob.readInt32BE(4);
  if (il <= 0 || il > MAX_ENTRIES || dl < 0) return null;
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length) return null;
  const strings = new Map<number, string>();
  let epoch: number | null = null;
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = blob.readInt32BE(at);
    const type = blob.readInt32BE(at + 4);
    const offset = blob.readInt32BE(at + 8);
    const count = blob.readInt32BE(at + 12);
    if (offset < 0 || offset >= dl) continue;
    const start = dataStart + offset;
    if (tag === RPMTAG.EPOCH && type === RPM_TYPE.INT32 && count >= 1 && offset + 4 <= dl) {
      epoch = blob.readInt32BE(start);
    } else if (
      (tag === RPMTAG.NAME || tag === RPMTAG.VERSION || tag === RPMTAG.RELEASE || tag === RPMTAG.ARCH || tag === RPMTAG.VENDOR) &&
      (type === RPM_TYPE.STRING || type === RPM_TYPE.I18NSTRING)
    ) {
      const end = blob.indexOf(0, start);
      if (end < 0 || end > dataStart + dl) continue;
      strings.set(tag, blob.toString('utf8', start, end));
    }
  }
  const name = strings.get(RPMTAG.NAME);
  if (!name) return null;
  return {
    name,
    version: strings.get(RPMTAG.VERSION) ?? null,
    release: strings.get(RPMTAG.RELEASE) ?? null,
    epoch,
    arch: strings.get(RPMTAG.ARCH) ?? null,
    vendor: strings.get(RPMTAG.VENDOR) ?? null,
  };
}

/** epoch:version-release, the form `rpm -q --qf '%{EVR}'` prints. */
export function rpmPackage(h: RpmHeaderFields, source: string): InstalledPackage {
  let version: string | null = null;
  if (h.version) {
    version = h.release ? `${h.version}-${h.release}` : h.version;
    if (h.epoch) version = `${h.epoch}:${version}`;
  }
  const pkg: InstalledPackage = { manager: 'rpm', name: h.name, version, source };
  if (h.arch) pkg.arch = h.arch;
  if (h.vendor) pkg.vendor = h.vendor;
  return pkg;
}

/** Builds a header blob (tests and fixture generation): string tags plus an optional epoch. */
export function buildRpmHeaderBlob(fields: Partial<Record<keyof typeof RPMTAG, string | number>>): Buffer {
  const entries: Array<{ tag: number; type: number; data: Buffer }> = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const tag = RPMTAG[key as keyof typeof RPMTAG];
    if (typeof value === 'number') {
      const b = Buffer.alloc(4);
      b.writeInt32BE(value);
      entries.push({ tag, type: RPM_TYPE.INT32, data: b });
    } else {
      entries.push({ tag, type: RPM_TYPE.STRING, data: Buffer.from(`${value}\0`) });
    }
  }
  entries.sort((a, b) => a.tag - b.tag);
  const index = Buffer.alloc(entries.length * 16);
  const chunks: Buffer[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    if (e.type === RPM_TYPE.INT32 && offset % 4) {
      const pad = 4 - (offset % 4);
      chunks.push(Buffer.alloc(pad));
      offset += pad;
    }
    index.writeInt32BE(e.tag, i * 16);
    index.writeInt32BE(e.type, i * 16 + 4);
    index.writeInt32BE(offset, i * 16 + 8);
    index.writeInt32BE(1, i * 16 + 12);
    chunks.push(e.data);
    offset += e.data.length;
  });
  const head = Buffer.alloc(8);
  head.writeInt32BE(entries.length, 0);
  head.writeInt32BE(offset, 4);
  return Buffer.concat([head, index, ...chunks]);
}
