/**
 * Layer semantics: applies the per-layer results bottom to top into one filesystem view.
 * Whiteouts (`.wh.NAME`) and opaque markers act on lower layers only; later layers win; a
 * non-directory replacing a directory hides everything below it; a hard link gets its
 * target's content.
 */
import type { FileEntry, ProbePlan } from '../model/entry.js';
import type { LayerResult } from './types.js';

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The merged map plus a child index, so deleting a subtree costs its size, not the map's. */
class Tree {
  readonly files = new Map<string, FileEntry>();
  private readonly children = new Map<string, Set<string>>();

  set(entry: FileEntry): void {
    if (!this.files.has(entry.path)) {
      let child = entry.path;
      // Register the path under its ancestors, up to the first one already indexed.
      while (child !== '/') {
        const parent = parentOf(child);
        let set = this.children.get(parent);
        const known = set !== undefined;
        if (!set) this.children.set(parent, (set = new Set()));
        set.add(child);
        // An existing set means its directory is already linked to its own ancestors.
        if (known) break;
        child = parent;
      }
    }
    this.files.set(entry.path, entry);
  }

  /** Removes everything strictly below `dir`. */
  deleteBelow(dir: string): void {
    const kids = this.children.get(dir);
    if (!kids) return;
    this.children.delete(dir);
    for (const k of kids) {
      this.files.delete(k);
      this.deleteBelow(k);
    }
  }

  delete(path: string): void {
    this.files.delete(path);
    this.deleteBelow(path);
    this.children.get(parentOf(path))?.delete(path);
  }
}

/**
 * Merges layer results (bottom to top). With a plan, the result keeps only candidates and
 * symlinks (hard links were needed only to carry content across).
 */
export function mergeLayers(layers: readonly LayerResult[], plan?: ProbePlan): Map<string, FileEntry> {
  const tree = new Tree();
  for (const layer of layers) {
    for (const dir of layer.opaque) tree.deleteBelow(dir);
    for (const path of layer.whiteouts) tree.delete(path);
    for (const e of layer.entries) {
      if (e.kind !== 'dir') tree.deleteBelow(e.path);
      let entry = e;
      if (e.kind === 'hardlink' && e.linkTarget && e.content === undefined) {
        const t = tree.files.get(e.linkTarget);
        if (t && t.kind !== 'dir') {
          entry = { ...e, size: t.size, mode: t.mode };
          const cap = plan?.contentBytes(e.path) ?? 0;
          if (t.content && cap > 0) {
            entry.content = t.content.subarray(0, Math.min(cap, t.content.length));
            entry.truncated = t.size > entry.content.length;
          }
          if (t.found) entry.found = t.found;
        }
      }
      tree.set(entry);
    }
  }
  if (!plan) return tree.files;
  const out = new Map<string, FileEntry>();
  for (const [path, e] of tree.files) {
    if (e.kind === 'symlink' || plan.contentBytes(path) !== undefined) out.set(path, e);
  }
  return out;
}

/** Most symlinks followed while resolving one path (Linux's own limit). */
export const MAX_SYMLINK_HOPS = 40;

function joinPath(dir: string, rel: string): string {
  const parts = rel.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const p of rel.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop(); // '..' at the root stays at the root, as in the kernel
    else parts.push(p);
  }
  return '/' + parts.join('/');
}

/**
 * Resolves symlinks in `path` component by component against the merged files (which hold
 * every symlink). Returns the final path, or null for a loop or more than 40 hops. Links never
 * leave the image root: an absolute or '..'-heavy target resolves inside it.
 */
export function resolvePath(files: ReadonlyMap<string, FileEntry>, path: string): string | null {
  let hops = 0;
  let pending = path.split('/').filter(Boolean);
  let resolved = '/';
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved = parentOf(resolved);
      continue;
    }
    const candidate = resolved === '/' ? `/${part}` : `${resolved}/${part}`;
    const e = files.get(candidate);
    if (e?.kind === 'symlink' && e.linkTarget !== undefined) {
      if (++hops > MAX_SYMLINK_HOPS) return null;
      const target = joinPath(resolved, e.linkTarget);
      pending = [...target.split('/').filter(Boolean), ...pending];
      resolved = '/';
      continue;
    }
    resolved = candidate;
  }
  return resolved;
}
