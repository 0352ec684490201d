import { Transform, type TransformCallback } from 'node:stream';
import { BLOCK, MAX_META_BYTES, parseNumeric, parsePax, roundUp } from './tar.js';

/**
 * A pass-through that ends a tar stream where the archive ends: at two consecutive zero header
 * blocks (POSIX). tar-stream skips zero blocks and reads on, so `/dev/zero`, or a pipe that
 * never closes, would be read forever. The guard walks the archive as tar-stream does (header,
 * body of `size` bytes — a PAX `size` record wins, directories have none — padded to 512), so a
 * body full of zeros is never taken for the end. Once the bytes stop looking like tar it only
 * passes them on: tar-stream then reports what is wrong.
 */
export class TarEndGuard extends Transform {
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Body and padding bytes still to pass before the next header. */
  private skip = 0;
  /** A PAX header's body being collected (its `size` record sizes the next entry). */
  private pax: { parts: Buffer[]; left: number; padding: number } | null = null;
  private paxSize: number | null = null;
  private zeroBlocks = 0;
  private blind = false;
  private ended = false;

  /** `onEnd` runs once the end was seen: the caller stops the input (it may never end by itself). */
  constructor(private readonly onEnd: () => void = () => {}) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.ended) return done();
    if (this.blind) return done(null, chunk);
    const end = this.scan(chunk);
    if (end < 0) return done(null, chunk);
    this.ended = true;
    this.push(chunk.subarray(0, end));
    this.push(null);
    done();
    this.onEnd();
  }

  /** Follows the structure through `chunk`; the offset just past the second zero block, or -1. */
  private scan(chunk: Buffer): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.pax) {
        const n = Math.min(this.pax.left, chunk.length - i);
        this.pax.parts.push(chunk.subarray(i, i + n));
        this.pax.left -= n;
        i += n;
        if (this.pax.left === 0) {
          const size = parsePax(Buffer.concat(this.pax.parts)).size;
          this.paxSize = size !== undefined && /^\d{1,15}$/.test(size) ? Number(size) : null;
          this.skip = this.pax.padding;
          this.pax = null;
        }
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - i);
      chunk.copy(this.header, this.headerFill, i, i + n);
      this.headerFill += n;
      i += n;
      if (this.headerFill < BLOCK) break;
      this.headerFill = 0;
      if (isZero(this.header)) {
        if (++this.zeroBlocks === 2) return i;
        continue;
      }
      this.zeroBlocks = 0;
      let size: number;
      try {
        size = parseNumeric(this.header, 124, 12, 'size');
      } catch {
        this.blind = true;
        return -1;
      }
      const typeflag = String.fromCharCode(this.header[156]);
      if (typeflag === 'x') {
        if (size > MAX_META_BYTES) {
          this.blind = true;
          return -1;
        }
        this.pax = { parts: [], left: size, padding: roundUp(size) - size };
        continue;
      }
      if (this.paxSize !== null) size = this.paxSize;
      this.paxSize = null;
      this.skip = typeflag === '5' ? 0 : roundUp(size);
    }
    return -1;
  }
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}
