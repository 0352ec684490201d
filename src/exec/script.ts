import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ProbePlan } from '../model/entry.js';

/**
 * The text sent on the exec channel's stdin: a preamble that sets the plan as shell variables,
 * then tracker/kensus-tracker.sh. The plan travels inside the script, not as arguments, so
 * neither a URL (Kubernetes exec puts argv in the query string) nor ARG_MAX limits it.
 */
export interface TrackerOptions {
  /** Seconds the walk may take inside the container (0: no limit; the coordinator's timeout still holds). */
  timeSeconds: number;
  /** Content bytes the tracker may send in total. */
  maxBytes: number;
  /** Walk network filesystems (nfs, cifs, fuse.*) too. */
  networkFilesystems: boolean;
  /** Bytes of the rpm query answer. */
  packageCap: number;
  /** Bytes of PID 1's environment. */
  envCap: number;
  /** Walk this directory as if it were / (tests; a host's /proc/PID/root). */
  root?: string;
  /** Mount table to read instead of /proc/mounts (tests). */
  mountsFile?: string;
}

export const defaultTrackerOptions: TrackerOptions = {
  timeSeconds: 90,
  maxBytes: 64 * 1024 * 1024,
  networkFilesystems: false,
  packageCap: 8 * 1024 * 1024,
  envCap: 64 * 1024,
};

/**
 * Runs the tracker at the lowest priority the container allows, without writing a file: nice (or
 * renice on itself, busybox has no nice) and ionice are used only when present and permitted,
 * and exec'd so the shell that reads the script from stdin replaces this one: no extra process.
 * LC_ALL=C makes ${#name} count bytes.
 */
export const trackerCommand: readonly string[] = [
  'sh',
  '-c',
  [
    'LC_ALL=C; export LC_ALL; p=',
    'if command -v nice >/dev/null 2>&1 && nice -n 19 sh -c : >/dev/null 2>&1; then p="nice -n 19"; elif command -v renice >/dev/null 2>&1; then renice -n 19 -p $$ >/dev/null 2>&1; fi',
    'if command -v ionice >/dev/null 2>&1 && ionice -c3 sh -c : >/dev/null 2>&1; then p="$p ionice -c3"; fi',
    'exec $p sh -s',
  ].join('; '),
  'kensus-tracker',
];

let bodyCache: string | null = null;

/** The tracker script as shipped (tracker/kensus-tracker.sh, two levels above src/exec or dist/exec). */
export function trackerBody(): string {
  if (bodyCache === null) {
    const url = new URL('../../tracker/kensus-tracker.sh', import.meta.url);
    bodyCache = readFileSync(fileURLToPath(url), 'utf8');
  }
  return bodyCache;
}

/** A shell single-quoted literal: safe for any bytes but NUL. */
export function shQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell literal cannot hold a NUL byte');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `a{b,c}d` → `abd`, `acd` (nested braces too): shell case patterns have no braces. */
export function expandBraces(glob: string): string[] {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const inner = glob.slice(start + 1, i);
        const alts = splitTopLevel(inner);
        if (alts.length < 2) continue;
        const head = glob.slice(0, start);
        const tail = glob.slice(i + 1);
        return alts.flatMap((alt) => expandBraces(head + alt + tail));
      }
    }
  }
  return [glob];
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * The plan's probes as shell case patterns. A '**' segment may also match no directory at all,
 * which a shell '*' between two slashes cannot: the pattern without it is added. Being broader
 * than the plan is harmless: the coordinator keeps only what the plan itself selects.
 * Larger byte caps come first, since the first matching pattern wins in the tracker.
 */
export function trackerProbes(plan: ProbePlan): Array<{ glob: string; maxBytes: number }> {
  const seen = new Map<string, number>();
  for (const probe of plan.probes) {
    for (let glob of expandBraces(probe.glob)) {
      // A relative glob matches at any depth (tracker paths are absolute).
      if (!glob.startsWith('/') && !glob.startsWith('*')) glob = `*/${glob}`;
      const variants = new Set([glob.replace(/\*\*+/g, '*')]);
      if (glob.includes('/**/')) variants.add(glob.replace(/\/\*\*\//g, '/').replace(/\*\*+/g, '*'));
      for (const v of variants) seen.set(v, Math.max(seen.get(v) ?? 0, Math.max(0, Math.floor(probe.maxBytes))));
    }
  }
  return [...seen].map(([glob, maxBytes]) => ({ glob, maxBytes })).sort((a, b) => b.maxBytes - a.maxBytes);
}

/** The shell-pattern forms of one plan glob, as the tracker matches tracker paths (see trackerProbes). */
function shellGlobs(glob: string): string[] {
  return expandBraces(glob).flatMap((g) => {
    if (!g.startsWith('/') && !g.startsWith('*')) g = `*/${g}`;
    const variants = new Set([g.replace(/\*\*+/g, '*')]);
    if (g.includes('/**/')) variants.add(g.replace(/\/\*\*\//g, '/').replace(/\*\*+/g, '*'));
    return [...variants];
  });
}

/**
 * The plan's byte searches (strings rules) per shell pattern: needles merged, the largest budget
 * and window kept. The first matching pattern wins in the tracker, so the largest budgets come first.
 */
export function trackerScans(plan: ProbePlan): Array<{ glob: string; needles: string[]; budget: number; window: number }> {
  const byGlob = new Map<string, { glob: string; needles: string[]; budget: number; window: number }>();
  for (const s of plan.scans ?? []) {
    for (const glob of shellGlobs(s.glob)) {
      const cur = byGlob.get(glob) ?? { glob, needles: [], budget: 0, window: 0 };
      cur.needles = [...new Set([...cur.needles, ...s.needles])];
      cur.budget = Math.max(cur.budget, Math.floor(s.budget));
      cur.window = Math.max(cur.window, Math.floor(s.window));
      byGlob.set(glob, cur);
    }
  }
  return [...byGlob.values()].sort((a, b) => b.budget - a.budget);
}

/** A literal needle as an extended regular expression (grep -E). */
export function ereLiteral(text: string): string {
  return text.replace(/[\\.[\]()*+?{}|^$]/g, (c) => `\\${c}`);
}

/** Longest bounded repetition every POSIX regcomp accepts (RE_DUP_MAX). */
const ERE_DUP_MAX = 255;

/**
 * kt_scan as shell text: for a candidate file matching a search pattern, kt_strings runs
 * `head -c BUDGET | grep -a -o -E` with one alternative per needle (the needle and up to WINDOW
 * printable bytes after it), so the container reads at most BUDGET bytes of the file and sends
 * back only the matching lines (at most 4 KiB). Needles are quoted, nothing in them is expanded.
 */
export function scanFunction(scans: ReadonlyArray<{ glob: string; needles: readonly string[]; budget: number; window: number }>): string {
  if (scans.length === 0) return 'kt_scan() { return 0; }';
  const lines = ['kt_scan() {', '  case "$1" in'];
  for (const s of scans) {
    const window = Math.min(ERE_DUP_MAX, Math.max(0, s.window));
    const ere = s.needles.map((n) => `${ereLiteral(n)}${window > 0 ? `[[:print:]\t]{0,${window}}` : ''}`).join('|');
    lines.push(`    ${casePattern(s.glob)}) kt_strings "$2" ${Math.max(0, s.budget)} ${shQuote(ere)} ;;`);
  }
  lines.push('  esac', '  return 0', '}');
  return lines.join('\n');
}

/**
 * The tracker's cheap first test: the last segments of the globs, matched against a file's name
 * alone. A glob whose last segment matches any name (`*`) cannot be prefiltered and is tried on
 * the whole path instead.
 */
export function prefilter(globs: readonly string[]): { names: string[]; always: string[] } {
  const names = new Set<string>();
  const always = new Set<string>();
  for (const glob of globs) {
    const last = glob.slice(glob.lastIndexOf('/') + 1);
    if (last === '' || /^[*?]*$/.test(last)) always.add(glob);
    else names.add(last);
  }
  return { names: [...names], always: [...always] };
}

/**
 * A glob as a literal case pattern: its wildcards (* ? [...]) stay active, every other character
 * is quoted, so nothing in it is expanded or executed by the shell.
 */
export function casePattern(glob: string): string {
  if (glob.includes('\0')) throw new Error('a shell pattern cannot hold a NUL byte');
  let out = '';
  for (const c of glob) {
    if (/[A-Za-z0-9_./*?[\]!^,:+=@%-]/.test(c)) out += c;
    else if (c === '\n') out += '"\n"';
    else out += `\\${c}`;
  }
  // A leading '!' or '^' outside brackets is literal in a case pattern anyway; '~' and '#' are quoted above.
  return out;
}

/**
 * kt_match as shell text. A first case on the file name alone (the globs' last segments) rejects
 * most paths cheaply, since a glob starting with '*' costs a scan of the whole path; globs whose
 * last segment matches any name are tried on the whole path instead.
 */
export function matchFunction(probes: ReadonlyArray<{ glob: string; maxBytes: number }>): string {
  if (probes.length === 0) return 'kt_match() { return 1; }';
  const pre = prefilter(probes.map((p) => p.glob));
  const names = pre.names.map(casePattern).join('|');
  const always = pre.always.map(casePattern).join('|');
  const lines = ['kt_match() {', '  case "${1##*/}" in'];
  if (names) lines.push(`    ${names}) ;;`);
  lines.push(always ? `    *) case "$1" in ${always}) ;; *) return 1 ;; esac ;;` : '    *) return 1 ;;', '  esac', '  case "$1" in');
  for (const p of probes) lines.push(`    ${casePattern(p.glob)}) kt_m=${Math.max(0, Math.floor(p.maxBytes))}; return 0 ;;`);
  lines.push('  esac', '  return 1', '}');
  return lines.join('\n');
}

export function buildTrackerScript(plan: ProbePlan, options: Partial<TrackerOptions> = {}): string {
  const o = { ...defaultTrackerOptions, ...options };
  const probes = trackerProbes(plan);
  const lines = [
    '# plan (generated by the Kensus coordinator)',
    `KT_TIME=${Math.max(0, Math.floor(o.timeSeconds))}`,
    `KT_BYTES=${Math.max(0, Math.floor(o.maxBytes))}`,
    `KT_NETFS=${o.networkFilesystems ? 1 : 0}`,
    `KT_PKGCAP=${Math.max(0, Math.floor(o.packageCap))}`,
    `KT_ENVCAP=${Math.max(0, Math.floor(o.envCap))}`,
    `KT_ROOT=${shQuote(o.root ?? '')}`,
    `KT_MOUNTS=${shQuote(o.mountsFile ?? '')}`,
  ];
  lines.push(matchFunction(probes));
  lines.push(scanFunction(trackerScans(plan)));
  return `${lines.join('\n')}\n${trackerBody()}`;
}
