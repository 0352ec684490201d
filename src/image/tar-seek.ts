/**
 * The seek walk: an uncompressed tar in a local file region (a docker-archive layer) walked by
 * reading headers only; bodies of non-candidates are skipped by offset, never read. Throws
 * TarFormatError for a corrupt or truncated tar.
 * Hand-written on purpose (first-hour review §7: keep): tar-stream, already a dependency, must read
 * every body to reach the next header; skipping bodies by offset is the speed claim of local scans,
 * measured in bench/.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  BLOCK,
  HeaderAssembler,
  MAX_META_BYTES,
  TarFormatError,
  headerChecksumOk,
  isMetaType,
  parseHeader,
  plainEntry,
  rawNameHolder,
  roundUp,
  sparseExtensionContinues,
  type EntrySink,
} from './tar.js';

const WINDOW = 64 * 1024;
const SCAN_CHUNK = 1024 * 1024;

/** Streams `length` body bytes at `pos` through the sink's byte search, one 1 MiB read at a time, until it needs no more. */
function scanBody(fd: number, pos: number, length: number, sink: EntrySink): number {
  const buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, length));
  let done = 0;
  while (done < length) {
    const got = readSync(fd, buf, 0, Math.min(buf.length, length - done), pos + done);
    if (got <= 0) throw new TarFormatError('truncated tar: entry body cut short');
    done += got;
    if (sink.scan!(buf.subarray(0, got))) break;
  }
  sink.scanEnd?.();
  return done;
}
const MIN_WINDOW = 4 * 1024;

/**
 * Seek walk over an uncompressed tar in a local file region: one read per 64 KiB window of
 * headers, bodies of non-candidates skipped by offset. Synchronous reads on purpose: for a
 * header walk they cost a few microseconds each, far less than a thread-pool round trip.
 */
export function seekWalk(region: { path: string; offset: number; length: number }, collector: EntrySink): number {
  const fd = openSync(region.path, 'r');
  const end = region.offset + region.length;
  const window = Buffer.allocUnsafe(WINDOW);
  let winStart = 0;
  let winLen = 0;
  let bytesRead = 0;
  // Adaptive window: dense small entries get 64 KiB reads (many headers per read); when a
  // window served a single header (bodies are large and skipped), the next reads shrink to
  // 4 KiB so skipping a big file does not drag 64 KiB of its neighbour's body in.
  let want = WINDOW;
  let served = 0;
  const fill = (pos: number, n: number): number => {
    if (pos >= winStart && pos + n <= winStart + winLen) {
      served++;
      return pos - winStart;
    }
    if (winLen > 0) {
      if (served <= 1) want = Math.max(MIN_WINDOW, want >> 2);
      else if (served >= 4) want = Math.min(WINDOW, want << 2);
    }
    served = 1;
    const len = Math.min(Math.max(want, n), end - pos);
    if (len < n) throw new TarFormatError(`truncated tar: ${n} bytes needed at offset ${pos - region.offset}, ${Math.max(0, len)} left`);
    const got = readSync(fd, window, 0, len, pos);
    bytesRead += got;
    if (got < n) throw new TarFormatError(`truncated tar: file ends at offset ${pos - region.offset + got}`);
    winStart = pos;
    winLen = got;
    return 0;
  };
  const readBody = (pos: number, n: number): Buffer => {
    if (n <= WINDOW) {
      const at = fill(pos, n);
      return Buffer.from(window.subarray(at, at + n));
    }
    const buf = Buffer.allocUnsafe(n);
    const got = readSync(fd, buf, 0, n, pos);
    bytesRead += got;
    if (got < n) throw new TarFormatError('truncated tar: entry body cut short');
    return buf;
  };
  try {
    if (fstatSync(fd).size < end) throw new TarFormatError(`truncated archive: layer region ends past the end of ${region.path}`);
    const assembler = new HeaderAssembler();
    const name = rawNameHolder();
    const rejects = collector.rejects?.bind(collector);
    let pos = region.offset;
    while (pos < end) {
      if (end - pos < BLOCK) throw new TarFormatError(`truncated tar: ${end - pos} stray bytes at the end`);
      const at = fill(pos, BLOCK);
      if (rejects !== undefined && assembler.idle) {
        // The common case: a non-candidate decided from the raw bytes, skipped with no string made.
        const stored = plainEntry(window, at, name);
        if (stored >= 0) {
          const next = pos + BLOCK + roundUp(stored);
          if (next <= end && rejects(name) && headerChecksumOk(window, at)) {
            pos = next;
            continue;
          }
        }
      }
      const raw = parseHeader(window, at);
      if (!raw) break;
      let dataStart = pos + BLOCK;
      if (raw.sparseExtended) {
        let more = true;
        while (more) {
          const ext = fill(dataStart, BLOCK);
          more = sparseExtensionContinues(window, ext);
          dataStart += BLOCK;
        }
      }
      // A PAX 'size' record overrides the header's size field (Go writes it for > 8 GiB).
      const h = isMetaType(raw.typeflag) ? undefined : assembler.entry(raw);
      const stored = h ? h.storedSize : raw.size;
      const next = dataStart + roundUp(stored);
      if (next > end) throw new TarFormatError(`truncated tar: entry "${h?.name ?? raw.name}" declares ${stored} bytes past the end of the layer`);
      if (!h) {
        if (raw.size > MAX_META_BYTES) throw new TarFormatError(`tar meta header of ${raw.size} bytes (limit ${MAX_META_BYTES})`);
        assembler.meta(raw, readBody(dataStart, raw.size));
      } else {
        const n = collector.want(h);
        if (n > 0) collector.content(readBody(dataStart, Math.min(n, h.storedSize)));
        const scan = Math.min(collector.scanBytes?.() ?? 0, h.storedSize);
        if (scan > 0) bytesRead += scanBody(fd, dataStart, scan, collector);
      }
      pos = next;
    }
  } finally {
    closeSync(fd);
  }
  return bytesRead;
}
