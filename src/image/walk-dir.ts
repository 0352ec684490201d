/**
 * Node-local reads from a directory tree: one unpacked overlayfs snapshot layer (containerd's
 * `snapshots/N/fs`, docker's overlay2 `diff`) or a running container's root (`/proc/PID/root`,
 * method `host`). Overlay whiteouts (character device 0/0) and opaque directories (xattr
 * `trusted.overlay.opaque=y`) are mapped to the tar layer semantics (`.wh.NAME`,
 * `.wh..wh..opq`), so the merge is the same as for image layers.
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, type Stats } from 'node:fs';
import { lstat, open, opendir, readFile, readlink, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { FileEntry, ProbePlan } from '../model/entry.js';
import type { LayerHandle, LayerResult } from './types.js';
import { badInput, unreachable } from '../errors.js';
import { log } from '../log.js';
import { NeedleScanner, type ScanHit, type ScanRequest } from '../util/needle-scan.js';


export interface DirWalkOptions {
  /** Read the tree as an overlayfs upper/lower dir: translate whiteouts and opaque dirs. */
  overlay?: boolean;
  /** Absolute paths (inside the tree) not descended into, e.g. /proc, /sys, /dev of a live root. */
  skip?: string[];
  /** Written to FileEntry.origin. */
  origin?: string;
}

export interface DirEntry {
  /** Absolute path inside the tree. */
  path: string;
  /** Host path. */
  hostPath: string;
  stat: Stats;
  /** Overlay whiteout: the lower path is deleted. */
  whiteout?: boolean;
  /** Overlay opaque directory: lower children are dropped. */
  opaque?: boolean;
}

export const liveRootSkips = ['/proc', '/sys', '/dev'];

/**
 * Directories carrying `trusted.overlay.opaque=y`. Node has no xattr API, so this asks
 * `getfattr` (Debian package attr) once per tree; without it, opaque directories cannot be seen
 * (lower-layer files under them would show through): that is logged, not hidden.
 */
export async function opaqueDirs(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  const bin = ['/usr/bin/getfattr', '/bin/getfattr', '/usr/local/bin/getfattr'].find((p) => existsSync(p));
  if (!bin) {
    log.warn({ root }, 'getfattr (package attr) is not installed: opaque overlay directories cannot be detected');
    return out;
  }
  const stdout = await new Promise<string>((resolve) => {
    execFile(bin, ['-R', '-P', '--absolute-names', '-n', 'trusted.overlay.opaque', '--only-values', '-e', 'text', root], { maxBuffer: 64 << 20 }, (_err, so) => resolve(so ?? ''));
  });
  // With --only-values the names are lost; run the dump format instead when any value was seen.
  if (!stdout.includes('y')) return out;
  const dump = await new Promise<string>((resolve) => {
    execFile(bin, ['-R', '-P', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', root], { maxBuffer: 64 << 20 }, (_err, so) => resolve(so ?? ''));
  });
  let file: string | undefined;
  for (const line of dump.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8);
    else if (file && /^trusted\.overlay\.opaque="y"/.test(line)) {
      const rel = file.slice(root.replace(/\/$/, '').length) || '/';
      out.add(rel.startsWith('/') ? rel : `/${rel}`);
    }
  }
  return out;
}

/** Walks a tree depth-first in name order, never following symlinks or leaving it. */
export async function* walkTree(root: string, options: DirWalkOptions = {}): AsyncGenerator<DirEntry> {
  // stat, not lstat: /proc/PID/root is a (magic) symlink to the process's root.
  const rootStat = await stat(root).catch((err: NodeJS.ErrnoException) => {
    throw unreachable(`cannot read ${root}: ${err.code ?? err.message}`, err.code === 'EACCES' ? 'run as root (node-local reads need access to the runtime\'s directories)' : 'check that the image is unpacked on this node');
  });
  if (!rootStat.isDirectory()) throw badInput(`${root} is not a directory`);
  const opaque = options.overlay ? await opaqueDirs(root) : new Set<string>();
  const skip = new Set(options.skip ?? []);
  const base = root.replace(/\/$/, '');
  async function* walk(dir: string): AsyncGenerator<DirEntry> {
    let names: string[];
    try {
      const d = await opendir(base + dir);
      names = [];
      for await (const e of d) names.push(e.name);
    } catch (err) {
      log.warn({ dir: base + dir, code: (err as NodeJS.ErrnoException).code }, 'directory not readable; skipped');
      return;
    }
    names.sort();
    for (const name of names) {
      const path = (dir === '/' ? '' : dir) + '/' + name;
      const hostPath = base + path;
      let stat: Stats;
      try {
        stat = await lstat(hostPath);
      } catch {
        continue; // vanished (a live root changes under us)
      }
      const whiteout = options.overlay && stat.isCharacterDevice() && stat.rdev === 0;
      yield { path, hostPath, stat, whiteout: whiteout || undefined, opaque: (stat.isDirectory() && opaque.has(path)) || undefined };
      // An overlay dir is one filesystem; a live root spans mounts (volumes), so those are entered.
      if (stat.isDirectory() && !skip.has(path) && (!options.overlay || stat.dev === rootStat.dev)) yield* walk(path);
    }
  }
  yield* walk('/');
}

/** The plan's byte search over a file, read 1 MiB at a time up to the budget, stopping at the last needle found. */
async function searchFile(hostPath: string, request: ScanRequest): Promise<ScanHit[]> {
  const scanner = new NeedleScanner(request);
  const fh = await open(hostPath, 'r');
  try {
    const buf = Buffer.alloc(Math.min(1 << 20, request.budget));
    let pos = 0;
    while (!scanner.done) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, request.budget - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      scanner.push(buf.subarray(0, bytesRead));
    }
    return scanner.end();
  } finally {
    await fh.close();
  }
}

async function readHead(hostPath: string, max: number): Promise<Buffer> {
  const fh = await open(hostPath, 'r');
  try {
    const buf = Buffer.alloc(max);
    let got = 0;
    while (got < max) {
      const { bytesRead } = await fh.read(buf, got, max - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/**
 * One directory tree as the image walker's LayerResult: only the entries the plan selects (plus
 * symlinks, hard links, whiteouts, opaque markers), content read up to the plan's cap. Exported
 * for the tracker and host paths that read a filesystem rather than a tar.
 */
export async function walkDirLayer(root: string, plan: ProbePlan, options: DirWalkOptions = {}): Promise<LayerResult> {
  const result: LayerResult = { entries: [], whiteouts: [], opaque: [], warnings: [] };
  const firstLink = new Map<string, string>();
  const byPath = new Map<string, FileEntry>();
  for await (const e of walkTree(root, options)) {
    if (e.whiteout) {
      result.whiteouts.push(e.path);
      continue;
    }
    if (e.opaque) result.opaque.push(e.path);
    const { stat } = e;
    const mode = stat.mode & 0o7777;
    const cap = plan.contentBytes(e.path);
    if (stat.isSymbolicLink()) {
      const linkTarget = await readlink(e.hostPath).catch(() => '');
      byPath.set(e.path, { path: e.path, kind: 'symlink', size: 0, mode, linkTarget, origin: options.origin });
      continue;
    }
    if (stat.isFile() && stat.nlink > 1) {
      const key = `${stat.dev}:${stat.ino}`;
      const first = firstLink.get(key);
      if (!first) firstLink.set(key, e.path);
      else if (cap !== undefined) {
        // Read as the file it is (the walker's hard-link semantics give the target's bytes anyway).
        const entry: FileEntry = { path: e.path, kind: 'hardlink', size: stat.size, mode, linkTarget: first, origin: options.origin };
        if (cap > 0) {
          entry.content = await readHead(e.hostPath, Math.min(cap, stat.size)).catch(() => undefined);
          if (entry.content) entry.truncated = stat.size > entry.content.length;
        }
        const search = stat.size > 0 ? plan.scanFor?.(e.path) : undefined;
        if (search) {
          const hits = await searchFile(e.hostPath, search).catch(() => []);
          if (hits.length) entry.found = hits;
        }
        byPath.set(e.path, entry);
        continue;
      }
    }
    if (cap === undefined) continue;
    const kind = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other';
    const entry: FileEntry = { path: e.path, kind, size: stat.isFile() ? stat.size : 0, mode, origin: options.origin };
    if (kind === 'file' && cap > 0) {
      try {
        entry.content = await readHead(e.hostPath, Math.min(cap, stat.size));
        entry.truncated = stat.size > entry.content.length;
      } catch (err) {
        result.warnings.push(`could not read ${e.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const search = kind === 'file' && stat.size > 0 ? plan.scanFor?.(e.path) : undefined;
    if (search) {
      try {
        const hits = await searchFile(e.hostPath, search);
        if (hits.length) entry.found = hits;
      } catch (err) {
        result.warnings.push(`could not read ${e.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    byPath.set(e.path, entry);
  }
  result.entries = [...byPath.values()];
  return result;
}

/** Reads exactly `size` bytes (zero-padded if the file shrank meanwhile: a live root changes). */
function exactly(hostPath: string, size: number): Readable {
  let sent = 0;
  const src = size > 0 ? createReadStream(hostPath, { start: 0, end: size - 1 }) : undefined;
  return Readable.from(
    (async function* () {
      if (src) {
        try {
          for await (const chunk of src) {
            sent += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
        } catch {
          /* unreadable or vanished: pad below */
        }
      }
      if (sent < size) yield Buffer.alloc(size - sent);
    })(),
  );
}

/**
 * One directory tree as an uncompressed layer tar stream, whiteouts and opaque directories in
 * tar form: lets any tar layer reader read a snapshot or a live root unchanged.
 */
export function dirLayerTar(root: string, options: DirWalkOptions = {}): Readable {
  const pack = tar.pack();
  const put = (header: { name: string; type: string; [k: string]: unknown }, body?: Readable) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) body.pipe(pack.entry(header as never, done));
      else pack.entry(header as never, Buffer.alloc(0), done);
    });
  void (async () => {
    const seen = new Map<string, string>();
    for await (const e of walkTree(root, options)) {
      const name = e.path.slice(1);
      const { stat } = e;
      const common = { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: stat.mtime };
      if (e.whiteout) {
        const slash = name.lastIndexOf('/');
        await put({ name: `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`, type: 'file', size: 0, ...common, mode: 0o644 });
        continue;
      }
      if (stat.isDirectory()) {
        await put({ name: `${name}/`, type: 'directory', ...common });
        if (e.opaque) await put({ name: `${name}/.wh..wh..opq`, type: 'file', size: 0, ...common, mode: 0o644 });
      } else if (stat.isSymbolicLink()) {
        await put({ name, type: 'symlink', linkname: await readlink(e.hostPath).catch(() => ''), ...common });
      } else if (stat.isFile()) {
        const key = `${stat.dev}:${stat.ino}`;
        const first = stat.nlink > 1 ? seen.get(key) : undefined;
        if (first) await put({ name, type: 'link', linkname: first, ...common });
        else {
          if (stat.nlink > 1) seen.set(key, name);
          await put({ name, type: 'file', size: stat.size, ...common }, exactly(e.hostPath, stat.size));
        }
      } else if (stat.isFIFO()) await put({ name, type: 'fifo', ...common });
      else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
        await put({ name, type: stat.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: Math.floor(stat.rdev / 256), devminor: stat.rdev % 256, ...common });
      }
      // sockets: nothing a tar can hold, nothing a signature needs
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  return pack as unknown as Readable;
}

/** A directory tree as a LayerHandle of an uncompressed tar (not content-addressed: no digest to check). */
export function dirLayerHandle(root: string, id: string, options: DirWalkOptions = {}): LayerHandle {
  return {
    // Not a sha256: the walker cannot check a generated tar against a registry digest.
    digest: id,
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    compression: 'none',
    bytes: { kind: 'dir', walk: (plan) => walkDirLayer(root, plan, options) },
  };
}
