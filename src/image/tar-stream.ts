/**
 * The stream parser: a tar arriving in chunks (inflated layers, pipes, `--verify`) parsed by the
 * same rules as the seek walk, without seeking; only candidates' bytes are kept. Throws
 * TarFormatError for a corrupt or truncated tar, or past the inflate cap (decompression bombs).
 * Hand-written on purpose (first-hour review §7: keep): it shares the header rules of the seek walk
 * so both walks agree entry for entry, and keeps only candidates' bytes where tar-stream would hand
 * every body over.
 */
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
  type RawHeader,
} from './tar.js';

/** Push parser for a tar arriving in chunks: the same rules as the seek walk, no seeking. */
export class TarStreamParser {
  private readonly assembler = new HeaderAssembler();
  private head = Buffer.alloc(BLOCK);
  private headFill = 0;
  private state: 'header' | 'ext' | 'meta' | 'body' | 'end' = 'header';
  private raw?: RawHeader;
  /** Bytes of the current body (and padding) still to come. */
  private remaining = 0;
  private keepBuf?: Buffer;
  private keepFill = 0;
  /** Body bytes still to pass to the sink's byte search (strings rules). */
  private scanLeft = 0;
  private sawHeader = false;
  private readonly name = rawNameHolder();
  total = 0;

  constructor(
    private readonly collector: EntrySink,
    private readonly maxBytes: number,
  ) {}

  push(bytes: Uint8Array): void {
    // A Buffer view (no copy) so headers can be parsed in place.
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.total += chunk.length;
    if (this.total > this.maxBytes) {
      throw new TarFormatError(
        `layer inflates to more than ${this.maxBytes} bytes (a decompression bomb?); if the image is legitimate, raise KENSUS_MAX_LAYER_BYTES`,
      );
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'end') return;
      if (this.state === 'header' || this.state === 'ext') {
        if (this.headFill === 0 && chunk.length - i >= BLOCK) {
          // The whole block is in this chunk: parse it where it is.
          i += BLOCK;
          this.onBlock(chunk, i - BLOCK);
          continue;
        }
        const n = Math.min(BLOCK - this.headFill, chunk.length - i);
        this.head.set(chunk.subarray(i, i + n), this.headFill);
        this.headFill += n;
        i += n;
        if (this.headFill === BLOCK) {
          this.headFill = 0;
          this.onBlock(this.head, 0);
        }
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - i);
      if (this.keepBuf && this.keepFill < this.keepBuf.length) {
        const k = Math.min(n, this.keepBuf.length - this.keepFill);
        this.keepBuf.set(chunk.subarray(i, i + k), this.keepFill);
        this.keepFill += k;
      }
      if (this.scanLeft > 0) {
        const k = Math.min(n, this.scanLeft);
        this.scanLeft = this.collector.scan!(chunk.subarray(i, i + k)) ? 0 : this.scanLeft - k;
        if (this.scanLeft === 0) this.collector.scanEnd?.();
      }
      i += n;
      this.remaining -= n;
      if (this.remaining === 0) this.endBody();
    }
  }

  private onBlock(block: Buffer, at: number): void {
    if (this.state === 'ext') {
      if (!sparseExtensionContinues(block, at)) this.startBody();
      return;
    }
    if (this.collector.rejects !== undefined && this.assembler.idle) {
      // The common case: a non-candidate decided from the raw bytes; its body flows past unkept.
      const stored = plainEntry(block, at, this.name);
      if (stored >= 0 && this.collector.rejects(this.name) && headerChecksumOk(block, at)) {
        this.sawHeader = true;
        this.keepBuf = undefined;
        this.state = 'body';
        this.remaining = roundUp(stored);
        if (this.remaining === 0) this.endBody();
        return;
      }
    }
    const raw = parseHeader(block, at);
    if (!raw) {
      this.state = 'end';
      return;
    }
    this.sawHeader = true;
    this.raw = raw;
    if (raw.sparseExtended) this.state = 'ext';
    else this.startBody();
  }

  private startBody(): void {
    const raw = this.raw!;
    this.keepBuf = undefined;
    this.keepFill = 0;
    let stored = raw.size;
    if (isMetaType(raw.typeflag)) {
      if (raw.size > MAX_META_BYTES) throw new TarFormatError(`tar meta header of ${raw.size} bytes (limit ${MAX_META_BYTES})`);
      this.keepBuf = Buffer.alloc(raw.size);
      this.state = 'meta';
    } else {
      const h = this.assembler.entry(raw);
      stored = h.storedSize;
      const n = this.collector.want(h);
      if (n > 0) this.keepBuf = Buffer.alloc(Math.min(n, h.storedSize));
      this.scanLeft = Math.min(this.collector.scanBytes?.() ?? 0, h.storedSize);
      this.state = 'body';
    }
    this.remaining = roundUp(stored);
    if (this.remaining === 0) this.endBody();
  }

  private endBody(): void {
    if (this.state === 'meta') this.assembler.meta(this.raw!, this.keepBuf!);
    else if (this.keepBuf) this.collector.content(this.keepBuf);
    this.keepBuf = undefined;
    this.state = 'header';
  }

  end(): void {
    if (this.state === 'end') return;
    if (this.state === 'header' && this.headFill === 0 && this.sawHeader) return; // no end blocks: tolerated
    if (!this.sawHeader && this.total === 0) return; // an empty layer
    throw new TarFormatError('truncated tar: the layer ends in the middle of an entry');
  }
}
