import { badInput } from '../errors.js';

/**
 * The tracker's stream, parsed. The bytes come from inside a container we do not trust, so the
 * parser bounds every size before it buffers anything, accepts only the frame types it knows and
 * hands out plain data: nothing received is ever executed or used as a path on this machine.
 *
 * Wire format (tracker/kensus-tracker.sh): `KENSUS1 <type> <nameLen> <payloadLen> [fields]\n`
 * followed by exactly nameLen bytes of name and payloadLen bytes of payload.
 */
export type FrameType = 'H' | 'F' | 'D' | 'S' | 'O' | 'N' | 'E' | 'Q' | 'B' | 'P' | 'X';

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
  /** Largest payload of one frame. */
  maxPayload: number;
  /** Largest stream in total. */
  maxTotal: number;
}

export const defaultFrameLimits: FrameLimits = {
  maxHeader: 256,
  maxName: 4096,
  maxPayload: 64 * 1024 * 1024,
  maxTotal: 512 * 1024 * 1024,
};

const magic = 'KENSUS1';
const types = new Set<string>(['H', 'F', 'D', 'S', 'O', 'N', 'E', 'Q', 'B', 'P', 'X']);
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

/**
 * Incremental parser: `push` chunks as they arrive, get complete frames back. Throws a
 * KensusError (exit 2) on the first malformed byte; after that the parser is dead.
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private offset = 0;
  private total = 0;
  private pending: { type: FrameType; nameLen: number; payloadLen: number; fields: string[] } | null = null;
  private failed: Error | null = null;

  constructor(private readonly limits: FrameLimits = defaultFrameLimits) {}

  /** Bytes received so far. */
  get bytes(): number {
    return this.total;
  }

  push(chunk: Buffer): Frame[] {
    if (this.failed) throw this.failed;
    this.total += chunk.length;
    if (this.total > this.limits.maxTotal) {
      return this.fail(this.offset, `the stream exceeds ${this.limits.maxTotal} bytes`);
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    for (;;) {
      if (!this.pending) {
        const nl = this.buf.indexOf(0x0a);
        if (nl < 0) {
          if (this.buf.length > this.limits.maxHeader) this.fail(this.offset, `header line longer than ${this.limits.maxHeader} bytes: ${printable(this.buf)}`);
          break;
        }
        if (nl > this.limits.maxHeader) this.fail(this.offset, `header line longer than ${this.limits.maxHeader} bytes: ${printable(this.buf)}`);
        this.pending = this.parseHeader(this.buf.subarray(0, nl));
        this.buf = this.buf.subarray(nl + 1);
        this.offset += nl + 1;
      }
      const need = this.pending.nameLen + this.pending.payloadLen;
      if (this.buf.length < need) break;
      const { type, nameLen, fields } = this.pending;
      // Copies, so a retained frame does not pin the whole chunk it arrived in.
      const name = Buffer.from(this.buf.subarray(0, nameLen));
      const payload = Buffer.from(this.buf.subarray(nameLen, need));
      this.buf = this.buf.subarray(need);
      this.offset += need;
      this.pending = null;
      out.push({ type, name, payload, fields });
    }
    return out;
  }

  /** Call at end of stream: throws if it ended inside a frame. */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.pending) this.fail(this.offset, 'the stream ended inside a frame (truncated output)');
    if (this.buf.length) this.fail(this.offset, `the stream ended inside a header: ${printable(this.buf)}`);
  }

  private parseHeader(line: Buffer): { type: FrameType; nameLen: number; payloadLen: number; fields: string[] } {
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
    if (payloadLen > this.limits.maxPayload) this.fail(this.offset, `payload of ${payloadLen} bytes exceeds ${this.limits.maxPayload}`);
    for (const f of fields) if (!fieldPattern.test(f)) this.fail(this.offset, `bad header field ${printable(Buffer.from(f, 'latin1'))}`);
    return { type: type as FrameType, nameLen, payloadLen, fields };
  }

  private fail(offset: number, what: string): never {
    this.failed = malformed(offset, what);
    this.buf = Buffer.alloc(0);
    throw this.failed;
  }
}
