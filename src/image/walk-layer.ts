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
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FileEntry, ProbePlan, RawName } from '../model/entry.js';
import { hashString } from '../util/name-hash.js';
import { badInput } from '../errors.js';
import { inflateInto, type StreamWalkResult } from './inflate.js';
import { TarFormatError, normaliseEntryPath, type EntrySink, type LogicalHeader } from './tar.js';
import { seekWalk } from './tar-seek.js';
import { NeedleScanner } from '../util/needle-scan.js';
import { TarStreamParser } from './tar-stream.js';
import type { LayerBytes, LayerCompression, LayerHandle, LayerResult } from './types.js';

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

const MAX_WARNINGS = 50;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Decides per entry what to keep; both walkers feed it. `want` returns how many content bytes
 * to read for the entry (0: none).
 */
class Collector implements EntrySink {
  readonly byPath = new Map<string, FileEntry>();
  readonly whiteouts = new Set<string>();
  readonly opaque = new Set<string>();
  readonly warnings: string[] = [];
  /** Candidate hard links whose target's content was not kept: a second pass fetches it. */
  readonly pendingLinks = new Map<string, number>();
  private current?: FileEntry;
  /**
   * Basename hashes of kept links: a link is kept whatever the plan says, so a later
   * non-candidate entry of the same path must still replace it and cannot be skipped unseen.
   */
  private readonly linkBases = new Set<number>();
  readonly rejects?: (name: RawName) => boolean;
  /** The byte search of the entry just wanted (strings rules), while its body goes by. */
  private scanning?: { entry: FileEntry; scanner: NeedleScanner; bytes: number };

  constructor(
    private readonly plan: ProbePlan,
    private readonly origin: string | undefined,
  ) {
    const rejectsName = plan.rejectsName?.bind(plan);
    if (rejectsName) this.rejects = (name) => rejectsName(name) && (this.linkBases.size === 0 || !this.linkBases.has(name.baseHash));
  }

  want(h: LogicalHeader): number {
    this.current = undefined;
    this.scanning = undefined;
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
        if (t.found && cap !== undefined) entry.found = t.found;
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
    if (h.kind !== 'file' || h.sparse || h.size === 0) return 0;
    const search = this.plan.scanFor?.(path);
    if (search) this.scanning = { entry, scanner: new NeedleScanner(search), bytes: Math.min(search.budget, h.size) };
    if (cap <= 0) return 0;
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

  scanBytes(): number {
    return this.scanning?.bytes ?? 0;
  }

  scan(chunk: Buffer): boolean {
    return this.scanning ? this.scanning.scanner.push(chunk) : true;
  }

  scanEnd(): void {
    const s = this.scanning;
    if (!s) return;
    const hits = s.scanner.end();
    if (hits.length) s.entry.found = hits;
    this.scanning = undefined;
  }

  private warned = 0;

  /** Warnings are capped: a hostile layer of a million odd names must not cost a million strings. */
  private warn(message: string): void {
    if (++this.warned <= MAX_WARNINGS) this.warnings.push(message);
    else if (this.warned === MAX_WARNINGS + 1) this.warnings.push('more odd entries in this layer; further warnings suppressed');
  }

  private keep(e: FileEntry): void {
    if (this.origin) e.origin = this.origin;
    if (e.kind === 'symlink' || e.kind === 'hardlink') this.linkBases.add(hashString(e.path, e.path.lastIndexOf('/') + 1));
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

/** The stored bytes of a layer as one stream. */
async function openStored(bytes: LayerBytes, label: string): Promise<Readable> {
  switch (bytes.kind) {
    case 'file-region':
      return bytes.length === 0
        ? Readable.from([])
        : createReadStream(bytes.path, { start: bytes.offset, end: bytes.offset + bytes.length - 1, highWaterMark: 1 << 20 });
    case 'stream':
      return bytes.open();
    case 'dir':
      throw new Error(`internal: ${label} is a directory layer; it walks itself, it is no tar`);
    case 'read-once':
      throw new Error(`internal: ${label} was read once, from ${bytes.member}; it cannot be reopened`);
  }
}

async function walkOnce(layer: LayerHandle, plan: ProbePlan, options: WalkOptions): Promise<{ collector: Collector; stats: WalkStats }> {
  const label = options.label ?? `layer ${layer.digest}`;
  const collector = new Collector(plan, layer.digest);
  const maxBytes = maxLayerBytes(options.maxLayerBytes);
  const bytes = layer.bytes;
  if (bytes.kind === 'file-region' && layer.compression === 'none' && !options.verify) {
    let bytesRead: number;
    try {
      bytesRead = seekWalk(bytes, collector);
    } catch (err) {
      throw tarError(label, err);
    }
    return { collector, stats: { bytesRead, digestChecked: false } };
  }
  const source = await openStored(bytes, label);
  let got: StreamWalkResult;
  try {
    got = await inflateInto(source, layer.compression, new TarStreamParser(collector, maxBytes), layer.digestOf === 'uncompressed' && layer.compression !== 'none');
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
    const got = await inflateInto(source, compression, new TarStreamParser(collector, maxLayerBytes(options.maxLayerBytes)), options.hashTar ?? false);
    // A one-pass stream cannot go back for a hard link's non-candidate target: say so.
    for (const target of collector.pendingLinks.keys()) {
      collector.warnings.push(`hard link to ${target}: content not read (its target is no candidate and a stream cannot be re-read)`);
    }
    return { result: collector.result(), ...got, tarDigest: compression === 'none' ? got.storedDigest : got.tarDigest };
  } catch (err) {
    throw tarError(options.label ?? 'layer', err);
  }
}

