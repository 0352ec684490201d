/**
 * A streaming search for literal byte strings deep inside large files (the `strings` evidence
 * kind): a file's bytes arrive in chunks of any size, at most `budget` of them are looked at, and
 * only a bounded carry (the longest needle plus its window) is kept between chunks, never the file.
 * Every source (tar stream, seek walk, directory walk, the tracker's answer) feeds the same scanner.
 */

/** What to look for in one file: the needles of every rule whose globs match its path. */
export interface ScanRequest {
  /** Literal needles (printable ASCII, compared byte for byte). */
  readonly needles: readonly string[];
  /** Bytes from the start of the file to look at, at most. */
  readonly budget: number;
  /** Printable bytes after a needle kept as its window (for a version after a banner). */
  readonly window: number;
  /**
   * Needles that stand for one another (one rule's `find` list): once one of a group is found, the
   * group's other needles need not be. Without groups every needle is wanted.
   */
  readonly groups?: ReadonlyArray<readonly string[]>;
}

/** The first place a needle was seen. */
export interface ScanHit {
  needle: string;
  /** Byte offset of the needle in the file; null when the source cannot tell (the tracker's grep). */
  offset: number | null;
  /** The needle and the printable ASCII bytes after it, up to the request's window. */
  text: string;
}

/** Largest window a request may ask for (the schema allows no more). */
export const MAX_WINDOW = 255;

/** A byte a window may hold: printable ASCII and tab, what `strings` would print. */
function printable(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || b === 0x09;
}

export class NeedleScanner {
  private readonly pending: Array<{ needle: string; bytes: Buffer; groups: number[] }>;
  private readonly satisfied = new Set<number>();
  private readonly found: ScanHit[] = [];
  private readonly keep: number;
  private readonly window: number;
  private carry: Buffer = Buffer.alloc(0);
  /** File offset of carry[0]. */
  private carryAt = 0;
  private seen = 0;
  private finished = false;

  constructor(private readonly request: ScanRequest) {
    this.window = Math.max(0, Math.min(MAX_WINDOW, Math.floor(request.window)));
    const groups = request.groups ?? request.needles.map((n) => [n]);
    this.pending = [...new Set(request.needles)]
      .filter((n) => n.length > 0)
      .map((needle) => ({ needle, bytes: Buffer.from(needle, 'latin1'), groups: groups.flatMap((g, i) => (g.includes(needle) ? [i] : [])) }));
    const longest = this.pending.reduce((m, p) => Math.max(m, p.bytes.length), 0);
    // A needle cut by a chunk boundary starts in the last (longest - 1) bytes; its window may
    // run on past the chunk too, so a hit whose window is still open stays in the carry.
    this.keep = Math.max(0, longest - 1);
    if (this.pending.length === 0 || request.budget <= 0) this.finish();
  }

  /** True once every needle was found or the budget is spent: the caller may stop feeding. */
  get done(): boolean {
    return this.finished;
  }

  /** Bytes of the file looked at so far. */
  get scanned(): number {
    return this.seen;
  }

  /** Feeds the next bytes of the file; returns `done`. */
  push(chunk: Buffer): boolean {
    if (this.finished || chunk.length === 0) return this.finished;
    const room = this.request.budget - this.seen;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.seen += part.length;
    const region = this.carry.length ? Buffer.concat([this.carry, part]) : part;
    const last = this.seen >= this.request.budget;
    let keepFrom = Math.max(0, region.length - this.keep);
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i];
      const at = region.indexOf(p.bytes);
      if (at < 0) continue;
      const text = this.windowText(region, at, p.bytes.length, last);
      if (text === null) {
        // The window runs past what arrived: look again once more bytes are here.
        keepFrom = Math.min(keepFrom, at);
        continue;
      }
      this.found.push({ needle: p.needle, offset: this.carryAt + at, text });
      this.pending.splice(i--, 1);
      for (const g of p.groups) this.satisfied.add(g);
    }
    // A needle whose every group another needle satisfied is no longer wanted: stop sooner.
    for (let i = 0; i < this.pending.length; i++) {
      const g = this.pending[i].groups;
      if (g.length > 0 && g.every((x) => this.satisfied.has(x))) this.pending.splice(i--, 1);
    }
    this.carry = Buffer.from(region.subarray(keepFrom));
    this.carryAt += keepFrom;
    if (this.pending.length === 0 || last) this.finish();
    return this.finished;
  }

  /** The end of the file (or of the bytes a source could read): open windows close where they are. */
  end(): ScanHit[] {
    if (!this.finished) {
      for (const p of this.pending) {
        const at = this.carry.indexOf(p.bytes);
        if (at >= 0) this.found.push({ needle: p.needle, offset: this.carryAt + at, text: this.windowText(this.carry, at, p.bytes.length, true)! });
      }
      this.finish();
    }
    return this.hits();
  }

  /** The hits so far, in the order of the request's needles. */
  hits(): ScanHit[] {
    const order = new Map(this.request.needles.map((n, i) => [n, i]));
    return [...this.found].sort((a, b) => order.get(a.needle)! - order.get(b.needle)!);
  }

  private finish(): void {
    this.finished = true;
    this.carry = Buffer.alloc(0);
  }

  /** The needle plus its printable window, or null when the window may go on past `region`. */
  private windowText(region: Buffer, at: number, length: number, final: boolean): string | null {
    const start = at + length;
    const stop = Math.min(region.length, start + this.window);
    let i = start;
    while (i < stop && printable(region[i])) i++;
    if (i === region.length && i < start + this.window && !final) return null;
    return region.toString('latin1', at, i);
  }
}
