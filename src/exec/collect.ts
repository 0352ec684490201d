import type { EntryKind, FileEntry, InstalledPackage, ProbePlan } from '../model/entry.js';
import { malformed, type Frame } from './frames.js';
import type { ScanHit, ScanRequest } from '../util/needle-scan.js';

/** What one tracker run saw, ready for the matcher. */
export interface TrackerResult {
  files: Map<string, FileEntry>;
  env: Record<string, string>;
  /** Rows of `rpm -qa` (the dpkg and apk databases arrive as files for extractPackages). */
  rpmPackages: InstalledPackage[];
  /** Paths the tracker could not read (permission denied), with what it could not read. */
  denied: Array<{ path: string; what: 'content' | 'dir' }>;
  /** True when the end frame arrived: the walk finished (possibly cut short by a budget). */
  complete: boolean;
  /** Which budget cut the walk short, if any. */
  budgetHit: 'time' | 'bytes' | null;
  hello: { pid: number; nice: number | null; uid: number | null } | null;
  /** Directories walked, candidates sent, content bytes kept, bytes received. */
  stats: { dirs: number; candidates: number; contentBytes: number; streamBytes: number };
}

export interface CollectLimits {
  /** Most entries kept (memory bound whatever the container holds). */
  maxEntries: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Names are bytes; valid UTF-8 is decoded as such, anything else byte for byte (latin1). */
/**
 * The tracker's grep answer (one match per line: a needle and its printable window) as the hits a
 * layer walk would give: each needle's first line, its window cut to the request's. grep cannot
 * tell the byte offset; its search ran over the request's whole budget (head -c).
 */
export function stringsFromGrep(text: string, search: ScanRequest): ScanHit[] | undefined {
  const lines = text.split('\n').filter((l) => /^[\x20-\x7e\t]+$/.test(l));
  const hits: ScanHit[] = [];
  for (const needle of search.needles) {
    const line = lines.find((l) => l.startsWith(needle));
    if (line !== undefined) hits.push({ needle, offset: null, text: line.slice(0, needle.length + search.window) });
  }
  return hits.length ? hits : undefined;
}

export function decodeName(name: Buffer): string {
  try {
    return utf8.decode(name);
  } catch {
    return name.toString('latin1');
  }
}

/** `stat -c %f` gives hex st_mode; `ls -l` gives `-rwxr-xr-x` (sent as `p-rwxr-xr-x`). */
export function parseMode(field: string | undefined): number {
  if (!field) return 0;
  if (field.startsWith('p')) return permString(field.slice(1));
  if (!/^[0-9a-fA-F]{1,8}$/.test(field)) return 0;
  return parseInt(field, 16) & 0o7777;
}

function permString(s: string): number {
  if (s.length < 10) return 0;
  let mode = 0;
  const bits = s.slice(1, 10);
  const chars = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) {
    const c = bits[i];
    if (c === chars[i] || c === 's' || c === 't') mode |= 1 << (8 - i);
  }
  if ('sS'.includes(bits[2])) mode |= 0o4000;
  if ('sS'.includes(bits[5])) mode |= 0o2000;
  if ('tT'.includes(bits[8])) mode |= 0o1000;
  return mode;
}

function num(field: string | undefined, what: string, offsetHint: number): number {
  if (field === undefined || !/^[0-9]{1,15}$/.test(field)) throw malformed(offsetHint, `${what} is not a number`);
  return Number(field);
}

function validPath(path: string): boolean {
  return path.startsWith('/') && !path.includes('\0') && !/(^|\/)\.\.?(\/|$)/.test(path) && (path === '/' || !path.endsWith('/'));
}

/** PID 1's environ: NUL-separated KEY=VALUE. */
export function parseEnviron(buf: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of buf.toString('utf8').split('\0')) {
    const eq = item.indexOf('=');
    if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return env;
}

/** `rpm -qa --queryformat '%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\n'`. */
export function parseRpmQuery(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split('\n')) {
    const [name, evr, arch, vendor] = line.split('\t');
    if (!name || !evr) continue;
    const version = evr.replace(/^\(none\):/, '');
    out.push({
      manager: 'rpm',
      name,
      version: version || null,
      ...(arch && arch !== '(none)' ? { arch } : {}),
      ...(vendor && vendor !== '(none)' ? { vendor } : {}),
      source: 'rpm -qa',
    });
  }
  return out;
}

const kinds: Partial<Record<Frame['type'], EntryKind>> = { F: 'file', D: 'dir', S: 'symlink', O: 'other' };

/**
 * Folds frames into a TrackerResult. The plan is the authority on what is kept: the tracker's
 * shell globs may be broader, and whatever the container sends beyond the plan's byte cap for a
 * path is cut off, so exec and image scans feed the matcher the same shape of data.
 */
export class TrackerCollector {
  readonly result: TrackerResult = {
    files: new Map(),
    env: {},
    rpmPackages: [],
    denied: [],
    complete: false,
    budgetHit: null,
    hello: null,
    stats: { dirs: 0, candidates: 0, contentBytes: 0, streamBytes: 0 },
  };
  private readonly deniedContent = new Set<string>();

  constructor(
    private readonly plan: ProbePlan,
    private readonly limits: CollectLimits = { maxEntries: 200_000 },
  ) {}

  add(frame: Frame, streamOffset = 0): void {
    const r = this.result;
    switch (frame.type) {
      case 'H': {
        const fields = new Map(frame.payload.toString('latin1').split(' ').map((kv) => kv.split('=') as [string, string]));
        const int = (k: string) => (/^-?\d{1,10}$/.test(fields.get(k) ?? '') ? Number(fields.get(k)) : null);
        r.hello = { pid: int('pid') ?? 0, nice: int('nice'), uid: int('uid') };
        return;
      }
      case 'F':
      case 'D':
      case 'S':
      case 'O': {
        const path = decodeName(frame.name);
        if (!validPath(path)) throw malformed(streamOffset, `entry path ${JSON.stringify(path.slice(0, 80))} is not an absolute normalised path`);
        // The plan (package databases included) is the authority on what is kept.
        const want = this.plan.contentBytes(path);
        if (want === undefined) return;
        if (r.files.size >= this.limits.maxEntries && !r.files.has(path)) {
          throw malformed(streamOffset, `more than ${this.limits.maxEntries} candidate entries`);
        }
        const kind = kinds[frame.type]!;
        const entry: FileEntry = { path, kind, size: 0, mode: 0, origin: 'exec' };
        if (kind === 'symlink') {
          entry.linkTarget = decodeName(frame.payload);
        } else {
          entry.size = num(frame.fields[0], 'size', streamOffset);
          entry.mode = parseMode(frame.fields[1]);
        }
        if (kind === 'file' && want > 0 && !this.deniedContent.has(path)) {
          const content = frame.payload.length > want ? frame.payload.subarray(0, want) : frame.payload;
          entry.content = content;
          if (content.length < entry.size) entry.truncated = true;
          r.stats.contentBytes += content.length;
        }
        r.files.set(path, entry);
        return;
      }
      case 'G': {
        // Strings the tracker's grep found in a file it just sent (kt_strings): each needle's first line.
        const path = decodeName(frame.name);
        const entry = r.files.get(path);
        const search = this.plan.scanFor?.(path);
        if (!entry || entry.kind !== 'file' || !search) return;
        entry.found = stringsFromGrep(frame.payload.toString('latin1'), search);
        return;
      }
      case 'N': {
        const path = decodeName(frame.name);
        const what = frame.fields[0] === 'dir' ? 'dir' : 'content';
        if (what === 'content') this.deniedContent.add(path);
        if (r.denied.length < 1000) r.denied.push({ path, what });
        return;
      }
      case 'E':
        r.env = parseEnviron(frame.payload);
        return;
      case 'Q':
        r.rpmPackages = parseRpmQuery(frame.payload.toString('utf8'));
        return;
      case 'B': {
        const which = frame.payload.toString('latin1');
        if (which === 'time' || which === 'bytes') r.budgetHit ??= which;
        return;
      }
      case 'P':
        r.stats.dirs = num(frame.fields[0], 'directory count', streamOffset);
        r.stats.candidates = num(frame.fields[1], 'candidate count', streamOffset);
        return;
      case 'X':
        r.complete = true;
        r.stats.dirs = num(frame.fields[0], 'directory count', streamOffset);
        r.stats.candidates = num(frame.fields[1], 'candidate count', streamOffset);
        return;
    }
  }
}
