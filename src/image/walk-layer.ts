/**
 * The layer walker: turns one layer (a local file region or a stream of stored bytes) into the
 * few entries the probe plan cares about, plus the layer-semantics markers (whiteouts, opaque
 * directories, symlinks, hard links). Content is read only for candidates, up to the plan's cap.
 *
 * Two ways in:
 * - an uncompressed layer in a local file (docker-archive) is walked by seeking: one read per
 *   64 KiB header window, bodies of non-candidates never read;
 * - anything else (gzip, zstd, pipes, `verify`) is streamed once, decompressed as it flows, and
 *   hashed beside the inflate; the digest is checked at the end.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { Duplex, type Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import type { FileEntry, ProbePlan } from '../model/entry.js';
import { badInput } from '../errors.js';
import {
  BLOCK,
  HeaderAssembler,
  MAX_META_BYTES,
  TarFormatError,
  isMetaType,
  normaliseEntryPath,
  parseHeader,
  roundUp,
  sparseExtensionContinues,
  type LogicalHeader,
  type RawHeader,
} from './tar.js';
import type { LayerCompression, LayerHandle, LayerResult } from './types.js';


export interface WalkOptions {
  plan: ProbePlan;
  /** Hash an uncompressed local layer even though its bodies would be skipped. */
  verify?: boolean;
  /**
   * Cap on the bytes one layer may inflate to (decompression bombs). Default
   * $KENSUS_MAX_LAYER_BYTES or 64 GiB: the largest real layers (CUDA, NIM, database images)
   * inflate to 10-30 GiB, and 64 GiB of inflate costs minutes of CPU, never memory.
   */
  maxLayerBytes?: number;
  /** Label for messages: "layer sha256:... of docker-archive:/x.tar". */
  label?: string;
}

export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 ** 3;

/** The inflate cap: the option, else $KENSUS_MAX_LAYER_BYTES, else 64 GiB. */
export function maxLayerBytes(option?: number): number {
  if (option !== undefined) return option;
  const env = Number(process.env.KENSUS_MAX_LAYER_BYTES);
  return Number.isSafeInteger(env) && env > 0 ? env : DEFAULT_MAX_LAYER_BYTES;
}

export interface WalkStats {
  /** Stored bytes read from disk or stream. */
  bytesRead: number;
  /** True when the layer's digest was checked against its bytes. */
  digestChecked: boolean;
}

const WINDOW = 64 * 1024;
const MIN_WINDOW = 4 * 1024;
const MAX_WARNINGS = 50;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Decides per entry what to keep; both walkers feed it. `want` returns how many content bytes
 * to read for the entry (0: none).
 */
class Collector {
  readonly byPath = new Map<string, FileEntry>();
  readonly whiteouts = new Set<string>();
  readonly opaque = new Set<string>();
  readonly warnings: string[] = [];
  /** Candidate hard links whose target's content was not kept: a second pass fetches it. */
  readonly pendingLinks = new Map<string, number>();
  private current?: FileEntry;

  constructor(
    private readonly plan: ProbePlan,
    private readonly origin: string | undefined,
  ) {}

  want(h: LogicalHeader): number {
    this.current = undefined;
    const path = normaliseEntryPath(h.name);
    if (path === null) {
      this.warn(`dropped entry "${h.name}": its name escapes the image root`);
      return 0;
    }
    if (h.name.charCodeAt(0) === 47) this.warn(`entry "${h.name}" has an absolute name; read as ${path}`);
    const slash = path.lastIndexOf('/');
    if (path.startsWith(WHITEOUT, slash + 1)) {
      const base = path.slice(slash + 1);
      const dir = path.slice(0, slash) || '/';
      if (base === OPAQUE) this.opaque.add(dir);
      else {
        const target = (dir === '/' ? '' : dir) + '/' + base.slice(WHITEOUT.length);
        if (target !== '/') this.whiteouts.add(target);
      }
      return 0;
    }
    const cap = this.plan.contentBytes(path);
    if (h.kind === 'symlink') {
      this.keep({ path, kind: 'symlink', size: 0, mode: h.mode, linkTarget: h.linkname });
      return 0;
    }
    if (h.kind === 'hardlink') {
      const target = normaliseEntryPath(h.linkname);
      if (target === null) {
        this.warn(`dropped hard link "${h.name}": its target "${h.linkname}" escapes the image root`);
        return 0;
      }
      const entry: FileEntry = { path, kind: 'hardlink', size: 0, mode: h.mode, linkTarget: target };
      const t = this.byPath.get(target);
      if (t) {
        entry.size = t.size;
        entry.mode = t.mode;
        if (cap && t.content) {
          entry.content = t.content.subarray(0, Math.min(cap, t.content.length));
          entry.truncated = t.size > entry.content.length;
        }
      }
      if (cap && !entry.content && (!t || t.kind === 'file')) this.pendingLinks.set(target, Math.max(cap, this.pendingLinks.get(target) ?? 0));
      this.keep(entry);
      return 0;
    }
    if (cap === undefined) {
      // A later non-candidate entry still replaces an earlier kept one of the same layer.
      if (this.byPath.has(path)) this.byPath.delete(path);
      return 0;
    }
    const entry: FileEntry = { path, kind: h.kind, size: h.size, mode: h.mode };
    this.keep(entry);
    if (h.kind !== 'file' || h.sparse || cap <= 0 || h.size === 0) return 0;
    this.current = entry;
    return Math.min(cap, h.size);
  }

  content(buf: Buffer): void {
    const e = this.current;
    if (!e) return;
    e.content = buf;
    e.truncated = e.size > buf.length;
    this.current = undefined;
  }

  private warned = 0;

  /** Warnings are capped: a hostile layer of a million odd names must not cost a million strings. */
  private warn(message: string): void {
    if (++this.warned <= MAX_WARNINGS) this.warnings.push(message);
    else if (this.warned === MAX_WARNINGS + 1) this.warnings.push('more odd entries in this layer; further warnings suppressed');
  }

  private keep(e: FileEntry): void {
    if (this.origin) e.origin = this.origin;
    this.byPath.delete(e.path); // re-insert so tar order reflects the last occurrence
    this.byPath.set(e.path, e);
  }

  result(): LayerResult {
    return {
      entries: [...this.byPath.values()],
      whiteouts: [...this.whiteouts],
      opaque: [...this.opaque],
      warnings: this.warnings,
    };
  }
}

function tarError(label: string, err: unknown): Error {
  if (err instanceof TarFormatError) {
    return badInput(`${label}: ${err.message}`, 'the archive is corrupt or truncated; recreate it (docker save, skopeo copy)');
  }
  return err as Error;
}

/**
 * Seek walk over an uncompressed tar in a local file region: one read per 64 KiB window of
 * headers, bodies of non-candidates skipped by offset. Synchronous reads on purpose: for a
 * header walk they cost a few microseconds each, far less than a thread-pool round trip.
 */
function seekWalk(region: { path: string; offset: number; length: number }, collector: Collector, label: string): number {
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
    let pos = region.offset;
    while (pos < end) {
      if (end - pos < BLOCK) throw new TarFormatError(`truncated tar: ${end - pos} stray bytes at the end`);
      const at = fill(pos, BLOCK);
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
      }
      pos = next;
    }
  } catch (err) {
    throw tarError(label, err);
  } finally {
    closeSync(fd);
  }
  return bytesRead;
}

/** Push parser for a tar arriving in chunks: the same rules as the seek walk, no seeking. */
class TarStreamParser {
  private readonly assembler = new HeaderAssembler();
  private head = Buffer.alloc(BLOCK);
  private headFill = 0;
  private state: 'header' | 'ext' | 'meta' | 'body' | 'end' = 'header';
  private raw?: RawHeader;
  /** Bytes of the current body (and padding) still to come. */
  private remaining = 0;
  private keepBuf?: Buffer;
  private keepFill = 0;
  private sawHeader = false;
  total = 0;

  constructor(
    private readonly collector: Collector,
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

let zstdPath: string | null | undefined;

/**
 * The zstd binary to inflate with: KENSUS_ZSTD=js forces fzstd (pure JS), =binary requires the
 * binary; by default the binary when it is on PATH, else fzstd.
 */
export function zstdBinary(): string | null {
  const mode = process.env.KENSUS_ZSTD ?? 'auto';
  if (mode === 'js') return null;
  if (zstdPath === undefined) {
    zstdPath = null;
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
      if (dir && existsSync(join(dir, 'zstd'))) {
        zstdPath = join(dir, 'zstd');
        break;
      }
    }
  }
  if (mode === 'binary' && !zstdPath) throw new Error('KENSUS_ZSTD=binary, but no zstd binary is on PATH (apt-get install zstd)');
  return zstdPath;
}

interface ZstdProcess {
  duplex: Duplex;
  /** Exit code (null when killed by a signal). */
  exit: Promise<number | null>;
  failure(code: number | null): TarFormatError;
  /** Kills it (we stopped reading) and returns null. */
  stop(): null;
  /** Waits briefly for it to exit on its own (it saw bad input), else kills it. */
  settle(): Promise<number | null>;
}

function spawnZstd(bin: string): ZstdProcess {
  const child = spawn(bin, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      stderr ||= err.message;
      resolve(-1);
    });
    child.on('close', (code) => resolve(code));
  });
  // Errors surface through `exit` and the pipeline; a write after zstd died is expected.
  child.stdin.on('error', () => {});
  const stop = (): null => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return null;
  };
  return {
    duplex: Duplex.from({ writable: child.stdin, readable: child.stdout }),
    exit,
    failure: (code) => {
      const last = stderr.trim().split('\n').pop()?.replace(/^.*\*stdin\*\\?\s*:\s*/, '');
      return new TarFormatError(`corrupt or truncated zstd data (${last || `zstd exited with ${code}`})`);
    },
    stop,
    settle: async () => {
      const code = await Promise.race([exit, new Promise<'late'>((r) => setTimeout(() => r('late'), 2000).unref())]);
      if (code === 'late') return stop();
      return code;
    },
  };
}

/** Sniffs the compression of stored bytes from their magic number. */
export function sniffCompression(head: Uint8Array): LayerCompression | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return undefined;
}

interface StreamWalkResult {
  bytesRead: number;
  storedDigest: string;
  tarDigest?: string;
}

async function streamWalk(
  source: Readable,
  compression: LayerCompression,
  collector: Collector,
  maxBytes: number,
  hashTar: boolean,
): Promise<StreamWalkResult> {
  const stored = createHash('sha256');
  const tarHash = hashTar ? createHash('sha256') : undefined;
  let bytesRead = 0;
  const parser = new TarStreamParser(collector, maxBytes);
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream | ((src: AsyncIterable<Buffer>) => AsyncIterable<Buffer> | Promise<void>)> = [];
  stages.push(async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      stored.update(chunk);
      bytesRead += chunk.length;
      yield chunk;
    }
  });
  const consume = (chunk: Uint8Array): void => {
    tarHash?.update(chunk);
    parser.push(chunk);
  };
  if (compression === 'gzip') stages.push(createGunzip({ chunkSize: 256 * 1024 }));
  const zstdBin = compression === 'zstd' ? zstdBinary() : null;
  let zstd: ZstdProcess | undefined;
  if (zstdBin) {
    // The zstd binary inflates ~8x faster than fzstd; pipes give it backpressure, so a bomb
    // still meets the inflate cap in the parser with bounded memory.
    zstd = spawnZstd(zstdBin);
    const proc = zstd;
    stages.push(proc.duplex);
    stages.push(async function (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) consume(chunk);
      const code = await proc.exit;
      if (code !== 0) throw proc.failure(code);
      parser.end();
    });
  } else if (compression === 'zstd') {
    // fzstd inflates a whole input chunk synchronously; its output goes straight into the
    // parser (no queue), so a zstd bomb meets the inflate cap one block at a time.
    stages.push(async function (src: AsyncIterable<Buffer>) {
      const dec = new Decompress((data) => consume(data));
      try {
        for await (const chunk of src) dec.push(chunk);
        dec.push(new Uint8Array(0), true);
      } catch (err) {
        if (err instanceof TarFormatError) throw err;
        throw new TarFormatError(`corrupt or truncated zstd data (${(err as Error).message})`);
      }
      parser.end();
    });
  } else {
    stages.push(async function (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) consume(chunk);
      parser.end();
    });
  }
  try {
    await (pipeline as (...args: unknown[]) => Promise<void>)(source, ...stages);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (zstd) {
      // A zstd that failed on bad input explains a broken pipe better than the pipe does.
      const code = e instanceof TarFormatError ? zstd.stop() : await zstd.settle();
      if (code !== 0 && code !== null && !(e instanceof TarFormatError)) throw zstd.failure(code);
    }
    if (e instanceof TarFormatError) throw e;
    if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR' || e.code?.startsWith('ERR_ZLIB') || /unexpected end of file|incorrect header|invalid/i.test(e.message)) {
      throw new TarFormatError(`corrupt or truncated ${compression} data (${e.message})`);
    }
    throw err;
  }
  return {
    bytesRead,
    storedDigest: `sha256:${stored.digest('hex')}`,
    tarDigest: tarHash ? `sha256:${tarHash.digest('hex')}` : undefined,
  };
}

/** Which digest of a layer its bytes are checked against. */
function expectedDigest(layer: LayerHandle): { digest: string; of: 'stored' | 'tar' } {
  if (layer.digestOf === 'uncompressed') return { digest: layer.diffId ?? layer.digest, of: 'tar' };
  return { digest: layer.digest, of: 'stored' };
}

/** Throws on a mismatch; false when the digest could not be checked (not sha256). */
function checkDigest(layer: LayerHandle, got: StreamWalkResult, label: string): boolean {
  const want = expectedDigest(layer);
  const actual = want.of === 'tar' ? got.tarDigest : got.storedDigest;
  // Another algorithm: unchecked, so the cache must not trust it.
  if (!want.digest.startsWith('sha256:')) return false;
  if (actual !== want.digest) {
    throw badInput(
      `${label}: content hashes to ${actual}, not the declared ${want.digest}`,
      'the archive is corrupt or was tampered with; recreate it from the original image',
    );
  }
  return true;
}

async function walkOnce(layer: LayerHandle, plan: ProbePlan, options: WalkOptions): Promise<{ collector: Collector; stats: WalkStats }> {
  const label = options.label ?? `layer ${layer.digest}`;
  const collector = new Collector(plan, layer.digest);
  const maxBytes = maxLayerBytes(options.maxLayerBytes);
  if (layer.file && layer.compression === 'none' && !options.verify) {
    const bytesRead = seekWalk(layer.file, collector, label);
    return { collector, stats: { bytesRead, digestChecked: false } };
  }
  const source = await layer.open();
  let got: StreamWalkResult;
  try {
    got = await streamWalk(source, layer.compression, collector, maxBytes, layer.digestOf === 'uncompressed' && layer.compression !== 'none');
  } catch (err) {
    throw tarError(label, err);
  }
  if (layer.compression === 'none') got.tarDigest = got.storedDigest;
  const digestChecked = checkDigest(layer, got, label);
  return { collector, stats: { bytesRead: got.bytesRead, digestChecked } };
}

/**
 * Walks one layer and returns what the plan keeps from it. Throws a KensusError (exit 2) for a
 * corrupt, truncated or lying layer.
 */
export async function walkLayer(layer: LayerHandle, options: WalkOptions): Promise<{ result: LayerResult; stats: WalkStats }> {
  const { collector, stats } = await walkOnce(layer, options.plan, options);
  if (collector.pendingLinks.size > 0) {
    // A candidate hard link whose target is no candidate: read the target's bytes in a second
    // pass (rare: a header walk again, or the stream reopened).
    const caps = collector.pendingLinks;
    const targetsPlan: ProbePlan = {
      version: options.plan.version,
      probes: [],
      contentBytes: (p) => caps.get(p),
    };
    const second = await walkOnce(layer, targetsPlan, { ...options, verify: false });
    stats.bytesRead += second.stats.bytesRead;
    for (const e of collector.byPath.values()) {
      if (e.kind !== 'hardlink' || e.content || !e.linkTarget) continue;
      const t = second.collector.byPath.get(e.linkTarget);
      if (!t) continue;
      e.size = t.size;
      e.mode = t.mode;
      const cap = options.plan.contentBytes(e.path) ?? 0;
      if (t.content && cap > 0) {
        e.content = t.content.subarray(0, Math.min(cap, t.content.length));
        e.truncated = t.size > e.content.length;
      }
    }
  }
  return { result: collector.result(), stats };
}

/** Walks a tar given as a stream of stored bytes (no digest known): used for piped archives. */
export async function walkTarStream(
  source: Readable,
  compression: LayerCompression,
  options: WalkOptions & { origin?: string; hashTar?: boolean },
): Promise<{ result: LayerResult; bytesRead: number; storedDigest: string; tarDigest?: string }> {
  const collector = new Collector(options.plan, options.origin);
  try {
    const got = await streamWalk(source, compression, collector, maxLayerBytes(options.maxLayerBytes), options.hashTar ?? false);
    // A one-pass stream cannot go back for a hard link's non-candidate target: say so.
    for (const target of collector.pendingLinks.keys()) {
      collector.warnings.push(`hard link to ${target}: content not read (its target is no candidate and a stream cannot be re-read)`);
    }
    return { result: collector.result(), ...got, tarDigest: compression === 'none' ? got.storedDigest : got.tarDigest };
  } catch (err) {
    throw tarError(options.label ?? 'layer', err);
  }
}

