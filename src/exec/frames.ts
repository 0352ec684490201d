import { badInput } from '../errors.js';

/**
 * The tracker's stream, parsed. The bytes come from inside a container we do not trust, so the
 * parser bounds every size before it buffers anything, accepts only the frame types it knows and
 * hands out plain data: nothing received is ever executed or used as a path on this machine.
 *
 * Wire format (tracker/kensus-tracker.sh): `KENSUS1 <type> <nameLen> <payloadLen> [fields]\n`
 * followed by exactly nameLen bytes of name and payloadLen bytes of payload.
 */
export type FrameType = 'H' | 'F' | 'D' | 'S' | 'O' | 'N' | 'E' | 'Q' | 'B' | 'P' | 'X' | 'G';

export interface Frame {
  type: FrameType;
  /** Raw name bytes (a path for F/D/S/O/N); kept as bytes so non-UTF-8 names survive. */
  name: Buffer;
  payload: Buffer;
  /** The numeric or short-word fields after the lengths. */
  fields: string[];
}

export interface FrameLimits {
  /** Longest header line. */
  maxHeader: number;
  /** Longest name (Linux PATH_MAX is 4096). */
  maxName: number;
  /** Largest payload of one frame (of a type without its own cap in `payloadCaps`). */
  maxPayload: number;
  /**
   * Per frame type: the most the coordinator can keep (content: the plan's largest byte cap;
   * environment and rpm rows: the caps the tracker was given). A frame declaring more is a lie.
   */
  payloadCaps?: Partial<Record<FrameType, number>>;
  /** Largest stream in total. */
  maxTotal: number;
  /** Content bytes (all 'F' payloads) the tracker may send in total: its own byte budget. */
  maxContent?: number;
}

export const defaultFrameLimits: FrameLimits = {
  maxHeader: 256,
  maxName: 4096,
  maxPayload: 64 * 1024 * 1024,
  maxTotal: 512 * 1024 * 1024,
};

/** What the tracker sends for a frame type besides content, environment and rpm rows: a few words, a link target. */
const SMALL_PAYLOAD = 4096;

/**
 * Frame limits for one tracker run: no frame may declare more than the tracker was told to send
 * (content: the plan's largest byte cap; all content together: the byte budget), so a container
 * announcing frame after 64 MiB frame is cut off at the first lying header.
 */
export function frameLimitsFor(probes: ReadonlyArray<{ maxBytes: number }>, caps: { maxBytes: number; envCap: number; packageCap: number }): FrameLimits {
  const content = Math.min(caps.maxBytes, probes.reduce((m, p) => Math.max(m, p.maxBytes), 0));
  return {
    ...defaultFrameLimits,
    maxPayload: SMALL_PAYLOAD,
    maxContent: caps.maxBytes,
    payloadCaps: { F: content, E: caps.envCap, Q: caps.packageCap, S: defaultFrameLimits.maxName, O: content, D: 0, N: 0 },
  };
}

const magic = 'KENSUS1';
const types = new Set<string>(['H', 'F', 'D', 'S', 'O', 'N', 'E', 'Q', 'B', 'P', 'X', 'G']);
const fieldPattern = /^[A-Za-z0-9+\-.]{1,32}$/;
const lengthPattern = /^(0|[1-9][0-9]{0,11})$/;

/** A malformed stream: which byte offset and what was wrong, printable (no raw bytes echoed). */
export function malformed(offset: number, what: string): Error {
  return badInput(
    `the tracker's output is malformed at byte ${offset}: ${what}`,
    'the container answered with something that is not a Kensus tracker stream; its output is ignored',
  );
}

function printable(buf: Buffer): string {
  return JSON.stringify(buf.subarray(0, 40).toString('latin1'));
}

/** A frame whose header was read: its name, then the kept part of its payload, then what is dropped. */
interface Pending {
  type: FrameType;
  nameLen: number;
  payloadLen: number;
  fields: string[];
  name?: Buffer;
  keep: number;
  payload?: Buffer;
  skip: number;
}

/**
 * Incremental parser: `push` chunks as they arrive, get complete frames back. Throws a
 * KensusError (exit 2) on the first malformed byte; after that the parser is dead. Chunks are
 * queued as they came and a frame is joined once, when all its bytes are there: joining on
 * every chunk would copy a large frame over and over (quadratic in its size).
 */
export class FrameParser {
  private queue: Buffer[] = [];
  private queued = 0;
  private offset = 0;
  private total = 0;
  private content = 0;
  private pending: Pending | null = null;
  private failed: Error | null = null;

  /**
   * `keep(type, name)`: how many payload bytes of this frame are wanted (the plan's byte cap for
   * its path); the rest is dropped as it arrives, never buffered. Default: all of it.
   */
  constructor(
    private readonly limits: FrameLimits = defaultFrameLimits,
    private readonly keep?: (type: FrameType, name: Buffer) => number,
  ) {}

  /** Bytes received so far. */
  get bytes(): number {
    return this.total;
  }

  /** Bytes held while the rest of a frame is awaited (what the parser costs in memory). */
  get held(): number {
    return this.queued;
  }

  /**
   * `sink` gets each frame as soon as it is complete, so the frames before a malformed byte of
   * the same chunk (the hello with the pid to reap) are not lost when push throws.
   */
  push(chunk: Buffer, sink?: (frame: Frame) => void): Frame[] {
    if (this.failed) throw this.failed;
    this.total += chunk.length;
    if (this.total > this.limits.maxTotal) {
      return this.fail(this.offset, `the stream exceeds ${this.limits.maxTotal} bytes`);
    }
    if (chunk.length) {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    const out: Frame[] = [];
    for (;;) {
      if (!this.pending) {
        const nl = this.lineEnd();
        if (nl < 0) {
          if (this.queued > this.limits.maxHeader) this.fail(this.offset, `header line longer than ${this.limits.maxHeader} bytes: ${printable(this.peek(40))}`);
          break;
        }
        const line = this.take(nl + 1);
        this.pending = this.parseHeader(line.subarray(0, nl));
        this.offset += nl + 1;
      }
      const p = this.pending;
      if (!p.name) {
        if (this.queued < p.nameLen) break;
        p.name = this.take(p.nameLen);
        this.offset += p.nameLen;
        p.keep = Math.max(0, Math.min(p.payloadLen, this.keep ? this.keep(p.type, p.name) : p.payloadLen));
      }
      if (!p.payload) {
        if (this.queued < p.keep) break;
        p.payload = this.take(p.keep);
        this.offset += p.keep;
        p.skip = p.payloadLen - p.keep;
      }
      if (p.skip > 0) {
        const n = this.drop(p.skip);
        p.skip -= n;
        this.offset += n;
        if (p.skip > 0) break;
      }
      this.pending = null;
      const frame: Frame = { type: p.type, name: p.name, payload: p.payload, fields: p.fields };
      if (sink) sink(frame);
      else out.push(frame);
    }
    return out;
  }

  /** Drops up to `n` queued bytes without copying them; returns how many. */
  private drop(n: number): number {
    let dropped = 0;
    while (dropped < n && this.queue.length) {
      const c = this.queue[0];
      const k = Math.min(c.length, n - dropped);
      if (k === c.length) this.queue.shift();
      else this.queue[0] = c.subarray(k);
      dropped += k;
    }
    this.queued -= dropped;
    return dropped;
  }

  /** Offset of the first newline within the first maxHeader + 1 queued bytes, or -1. */
  private lineEnd(): number {
    let base = 0;
    for (const c of this.queue) {
      const window = Math.min(c.length, this.limits.maxHeader + 1 - base);
      const i = c.subarray(0, window).indexOf(0x0a);
      if (i >= 0) return base + i;
      base += c.length;
      if (base > this.limits.maxHeader) return -1;
    }
    return -1;
  }

  /** The first `n` queued bytes as a buffer of their own (a retained frame pins no chunk). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.queue[0];
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.queue.shift();
      else this.queue[0] = c.subarray(k);
    }
    this.queued -= n;
    return out;
  }

  private peek(n: number): Buffer {
    const parts: Buffer[] = [];
    let got = 0;
    for (const c of this.queue) {
      if (got >= n) break;
      parts.push(c.subarray(0, n - got));
      got += Math.min(c.length, n - got);
    }
    return Buffer.concat(parts);
  }

  /** Call at end of stream: throws if it ended inside a frame. */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.pending) this.fail(this.offset, 'the stream ended inside a frame (truncated output)');
    if (this.queued) this.fail(this.offset, `the stream ended inside a header: ${printable(this.peek(40))}`);
  }

  private parseHeader(line: Buffer): Pending {
    const text = line.toString('latin1');
    const parts = text.split(' ');
    if (parts[0] !== magic) this.fail(this.offset, `expected a '${magic}' header, got ${printable(line)}`);
    if (parts.length < 4) this.fail(this.offset, `header has ${parts.length} fields, needs at least 4: ${printable(line)}`);
    const [, type, nameText, payloadText, ...fields] = parts;
    if (!types.has(type)) this.fail(this.offset, `unknown frame type ${printable(Buffer.from(type, 'latin1'))}`);
    if (!lengthPattern.test(nameText) || !lengthPattern.test(payloadText)) {
      this.fail(this.offset, `lengths are not decimal numbers: ${printable(line)}`);
    }
    const nameLen = Number(nameText);
    const payloadLen = Number(payloadText);
    if (nameLen > this.limits.maxName) this.fail(this.offset, `name of ${nameLen} bytes exceeds ${this.limits.maxName}`);
    const cap = this.limits.payloadCaps?.[type as FrameType] ?? this.limits.maxPayload;
    if (payloadLen > cap) {
      const why = this.limits.payloadCaps?.[type as FrameType] !== undefined ? ` (the most the scan keeps of a '${type}' frame)` : '';
      this.fail(this.offset, `payload of ${payloadLen} bytes exceeds ${cap}${why}`);
    }
    if (type === 'F' && this.limits.maxContent !== undefined) {
      this.content += payloadLen;
      if (this.content > this.limits.maxContent) this.fail(this.offset, `the content frames exceed the ${this.limits.maxContent}-byte budget the tracker was given`);
    }
    for (const f of fields) if (!fieldPattern.test(f)) this.fail(this.offset, `bad header field ${printable(Buffer.from(f, 'latin1'))}`);
    return { type: type as FrameType, nameLen, payloadLen, fields, keep: 0, skip: 0 };
  }

  private fail(offset: number, what: string): never {
    this.failed = malformed(offset, what);
    this.queue = [];
    this.queued = 0;
    throw this.failed;
  }
}
