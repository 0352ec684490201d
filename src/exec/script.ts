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
    `KT_N=${probes.length}`,
  ];
  probes.forEach((p, i) => lines.push(`KT_G${i + 1}=${shQuote(p.glob)} KT_B${i + 1}=${p.maxBytes}`));
  return `${lines.join('\n')}\n${trackerBody()}`;
}
