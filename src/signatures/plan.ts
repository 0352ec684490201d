import { createHash } from 'node:crypto';
import { braceExpand, Minimatch } from 'minimatch';
import type { ProbePlan, RawName } from '../model/entry.js';
import { hashString } from '../util/name-hash.js';
import { PACKAGE_DB_PROBES, SWID_PROBE } from '../packages/paths.js';
import { extensionOf, GLOB_MAGIC, globKey } from './glob-index.js';
import { ruleKind } from './rules/index.js';
import { collectScans, compileScans } from './scan-plan.js';
import type { Signature } from './types.js';

interface Candidate {
  mm: Minimatch;
  maxBytes: number;
}

const GLOB_OPTIONS = { dot: true, nobrace: true } as const;

/** Every (glob, byte cap) the signature set needs, package databases and SWID tags included. */
export function collectProbes(signatures: readonly Signature[]): Array<{ glob: string; maxBytes: number }> {
  const out: Array<{ glob: string; maxBytes: number }> = [...PACKAGE_DB_PROBES, SWID_PROBE];
  for (const sig of signatures) {
    for (const rule of [...sig.evidence, ...sig.exclude]) out.push(...ruleKind(rule.kind).probes(rule));
  }
  // Expand braces once so both the index and the tracker see plain globs; keep the largest cap.
  const merged = new Map<string, number>();
  for (const { glob, maxBytes } of out) {
    for (const g of braceExpand(glob)) merged.set(g, Math.max(merged.get(g) ?? 0, maxBytes));
  }
  return [...merged].map(([glob, maxBytes]) => ({ glob, maxBytes }));
}

/** Whether the raw path (`prefix/name` or `name`) starts with the bytes of `p`. */
function pathStartsWith(n: RawName, p: Uint8Array): boolean {
  const b = n.bytes;
  let i = 0;
  if (n.prefixEnd > n.prefixStart) {
    for (let k = n.prefixStart; k < n.prefixEnd; k++, i++) {
      if (i === p.length) return true;
      if (b[k] !== p[i]) return false;
    }
    if (i === p.length) return true;
    if (p[i++] !== 0x2f) return false;
  }
  for (let k = n.start; k < n.end; k++, i++) {
    if (i === p.length) return true;
    if (b[k] !== p[i]) return false;
  }
  return i === p.length;
}

/**
 * minimatch glob over absolute paths -> `find -path` patterns, where `*` also matches '/'.
 * `**` may stand for zero directories, which find's `*` cannot say between two slashes, so a
 * middle `/**/` yields two patterns (`/*/` and `/`). The matcher re-checks every candidate.
 */
export function toFindGlobs(glob: string): string[] {
  let g = glob.startsWith('**/') ? glob.slice(1) : glob; // '*/x' also matches '/x' under find /
  g = g.replace(/\/\*\*$/, '/*');
  if (!g.includes('/**/')) return [g];
  return [...new Set([g.replace(/\/\*\*\//g, '/*/'), g.replace(/\/\*\*\//g, '/')])];
}

/**
 * Compiles signatures into the probe plan. `contentBytes` runs for every tar header (100k+ per
 * image), so it looks up literal basenames and extensions in Maps and runs minimatch only on
 * those candidates and on the few globs whose last segment is itself a pattern (filtered by
 * their literal directory prefix).
 */
export function compilePlan(signatures: readonly Signature[], version?: string): ProbePlan {
  const probes = collectProbes(signatures);
  const scans = collectScans(signatures);
  const byBase = new Map<string, Candidate[]>();
  const byExt = new Map<string, Candidate[]>();
  const fallback: Array<Candidate & { prefix: string }> = [];
  const push = <K>(map: Map<K, Candidate[]>, key: K, c: Candidate): void => {
    const list = map.get(key);
    if (list) list.push(c);
    else map.set(key, [c]);
  };
  for (const { glob, maxBytes } of probes) {
    const rel = glob.replace(/^\/+/, '');
    const c: Candidate = { mm: new Minimatch(rel, GLOB_OPTIONS), maxBytes };
    const key = globKey(rel);
    if (key.kind === 'base') push(byBase, key.base, c);
    else if (key.kind === 'suffix') push(byExt, extensionOf(key.suffix), c);
    else {
      const firstMagic = rel.search(GLOB_MAGIC);
      const prefix = rel.slice(0, rel.lastIndexOf('/', firstMagic) + 1);
      fallback.push({ ...c, prefix });
    }
  }
  const planVersion =
    version ?? `plan-${createHash('sha256').update(JSON.stringify(scans.length ? { probes, scans } : probes)).digest('hex').slice(0, 16)}`;

  // Hot path: no closures, no allocation beyond the basename; `rel` only for real candidates.
  function best(list: Candidate[] | undefined, rel: string, current: number | undefined): number | undefined {
    if (list === undefined) return current;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if ((current === undefined || c.maxBytes > current) && c.mm.match(rel)) current = c.maxBytes;
    }
    return current;
  }

  function contentBytes(path: string): number | undefined {
    const base = path.slice(path.lastIndexOf('/') + 1);
    const byName = byBase.get(base);
    const dot = base.lastIndexOf('.');
    const bySuffix = dot >= 0 ? byExt.get(base.slice(dot)) : undefined;
    let found: number | undefined;
    if (byName !== undefined || bySuffix !== undefined) {
      const rel = path.charCodeAt(0) === 47 ? path.slice(1) : path;
      found = best(byName, rel, found);
      found = best(bySuffix, rel, found);
    }
    for (let i = 0; i < fallback.length; i++) {
      const c = fallback[i];
      if (found !== undefined && c.maxBytes <= found) continue;
      if (!path.startsWith(c.prefix, path.charCodeAt(0) === 47 ? 1 : 0)) continue;
      const rel = path.charCodeAt(0) === 47 ? path.slice(1) : path;
      if (c.mm.match(rel)) found = c.maxBytes;
    }
    return found;
  }

  // The same decision from a tar header's raw bytes (see RawName): a basename or extension that
  // hashes to no key and a path under no fallback prefix cannot be a candidate. Keys with a
  // non-ASCII character never equal an ASCII raw name; a hash collision only costs the exact check.
  const baseHashes = new Set([...byBase.keys()].map((k) => hashString(k)));
  const extHashes = new Set([...byExt.keys()].map((k) => hashString(k)));
  const prefixes = fallback.map((c) => Buffer.from(c.prefix, 'utf8'));
  const anyPath = prefixes.some((p) => p.length === 0);

  function rejectsName(n: RawName): boolean {
    if (anyPath || baseHashes.has(n.baseHash) || (n.extHash !== -1 && extHashes.has(n.extHash))) return false;
    for (let i = 0; i < prefixes.length; i++) if (pathStartsWith(n, prefixes[i])) return false;
    return true;
  }

  const findProbes = new Map<string, number>();
  for (const { glob, maxBytes } of probes) {
    for (const g of toFindGlobs(glob)) findProbes.set(g, Math.max(findProbes.get(g) ?? 0, maxBytes));
  }
  return {
    version: planVersion,
    contentBytes,
    rejectsName,
    probes: [...findProbes].map(([glob, maxBytes]) => ({ glob, maxBytes })),
    scanFor: compileScans(scans),
    scans,
  };
}
