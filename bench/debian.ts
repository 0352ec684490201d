/**
 * The real Debian image: Debian's own mmdebstrap builds a minbase system, then the same system
 * with a JRE, with python3 as well, and with curl as well; layer k is the difference between
 * stage k-1 and stage k (changed files, whiteouts for removed ones), as `docker build` would
 * commit it. Real dpkg databases, real file counts. Built once into the cache dir.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { LayerSpec } from './layers.js';
import type { TarFileWriter, TarType } from './tar.js';
import { aptMirror, debianSuite, ensureDebianPackages, hasCommand } from './tools.js';

/** Cumulative package sets of the four stages. */
export const STAGES: string[][] = [[], ['openjdk-17-jre-headless'], ['openjdk-17-jre-headless', 'python3'], ['openjdk-17-jre-headless', 'python3', 'curl']];

/** Paths whose contents a container image never carries (mount points, apt's download state). */
const EMPTY_DIRS = new Set(['proc', 'sys', 'dev', 'run', 'tmp', 'var/lib/apt/lists', 'var/cache/apt', 'var/cache/apt/archives']);

interface Node {
  st: Stats;
  type: TarType | null;
}

function typeOf(st: Stats): TarType | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return null; // device nodes and sockets: not in image layers
}

/** path (relative, no leading '/') → node, sorted walk order. */
function scan(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (rel: string) => {
    const names = readdirSync(rel ? join(root, rel) : root).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      const type = typeOf(st);
      if (!type) continue;
      out.set(path, { st, type });
      if (type === 'dir' && !EMPTY_DIRS.has(path)) walk(path);
    }
  };
  walk('');
  return out;
}

function fileHash(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function same(aRoot: string, a: Node, bRoot: string, b: Node, path: string): boolean {
  if (a.type !== b.type || a.st.mode !== b.st.mode || a.st.uid !== b.st.uid || a.st.gid !== b.st.gid) return false;
  if (a.type === 'dir') return true;
  if (a.type === 'symlink') return readlinkSync(join(aRoot, path)) === readlinkSync(join(bRoot, path));
  if (a.type === 'file') return a.st.size === b.st.size && Math.floor(a.st.mtimeMs) === Math.floor(b.st.mtimeMs) && fileHash(join(aRoot, path)) === fileHash(join(bRoot, path));
  return true;
}

function emit(w: TarFileWriter, root: string, path: string, node: Node, links: Map<string, string>): void {
  const { st, type } = node;
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
  if (type === 'dir') return w.add({ ...base, path: path + '/', type: 'dir' });
  if (type === 'symlink') return w.add({ ...base, path, type: 'symlink', linkTarget: readlinkSync(join(root, path)) });
  if (type === 'fifo') return w.add({ ...base, path, type: 'fifo' });
  if (st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = links.get(key);
    if (first) return w.add({ ...base, path, type: 'hardlink', linkTarget: first });
    links.set(key, path);
  }
  w.begin({ ...base, path, type: 'file', size: st.size });
  const fd = openSync(join(root, path), 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let left = st.size;
  try {
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
      if (n === 0) throw new Error(`${path} shrank while being read`);
      w.body(buf.subarray(0, n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  w.endBody(st.size);
}

/** Layer = what stage `to` adds or changes over stage `from` (null: everything), with whiteouts. */
function diffLayer(id: string, fromRoot: string | null, toRoot: string): LayerSpec {
  return {
    id,
    write(w) {
      const to = scan(toRoot);
      const from = fromRoot ? scan(fromRoot) : new Map<string, Node>();
      const links = new Map<string, string>();
      const emittedDirs = new Set<string>();
      const ensureParents = (path: string) => {
        const parts = path.split('/');
        for (let i = 1; i < parts.length; i++) {
          const dir = parts.slice(0, i).join('/');
          if (emittedDirs.has(dir)) continue;
          emittedDirs.add(dir);
          emit(w, toRoot, dir, to.get(dir)!, links);
        }
      };
      for (const [path, node] of to) {
        const old = from.get(path);
        if (old && same(fromRoot!, old, toRoot, node, path)) continue;
        ensureParents(path);
        if (node.type === 'dir') {
          if (emittedDirs.has(path)) continue;
          emittedDirs.add(path);
        }
        emit(w, toRoot, path, node, links);
      }
      for (const path of from.keys()) {
        if (to.has(path)) continue;
        const slash = path.lastIndexOf('/');
        const parent = slash < 0 ? '' : path.slice(0, slash);
        if (parent && !to.has(parent)) continue; // the whole parent is gone: its own whiteout covers it
        if (parent) ensureParents(path);
        w.add({ path: `${parent ? parent + '/' : ''}.wh.${path.slice(slash + 1)}`, type: 'file', mode: 0o644 });
      }
    },
  };
}

function bootstrap(dir: string, packages: string[], debs: string, say: (m: string) => void): boolean {
  const args = [
    '--variant=minbase',
    '--skip=essential/unlink',
    '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
    `--setup-hook=sync-in ${debs} /var/cache/apt/archives/`,
    `--customize-hook=sync-out /var/cache/apt/archives ${debs}`,
    ...(packages.length ? [`--include=${packages.join(',')}`] : []),
    debianSuite(),
    dir,
    aptMirror(),
  ];
  say(`mmdebstrap ${packages.length ? '+ ' + packages.join(' ') : 'minbase'} (${aptMirror()})`);
  const r = spawnSync('mmdebstrap', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20 * 60_000, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
  if (r.status !== 0) {
    say(`mmdebstrap failed: ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}`);
    return false;
  }
  return true;
}

/**
 * The four real Debian layers, building the stages when missing (a few minutes, once).
 * Returns null (with a reason said) when mmdebstrap cannot be had or fails.
 */
export function realDebianLayers(cache: string, say: (m: string) => void): LayerSpec[] | null {
  const dir = join(cache, 'debian');
  const debs = join(dir, 'debs');
  mkdirSync(debs, { recursive: true });
  const built = STAGES.every((_, k) => existsSync(join(dir, `stage${k}.done`)));
  if (!built) {
    if (!hasCommand('mmdebstrap') && ensureDebianPackages(['mmdebstrap'], say).length > 0) return null;
    for (let k = 0; k < STAGES.length; k++) {
      if (existsSync(join(dir, `stage${k}.done`))) continue;
      const root = join(dir, `stage${k}`);
      rmSync(root, { recursive: true, force: true });
      if (!bootstrap(root, STAGES[k], debs, say)) return null;
      writeFileSync(join(dir, `stage${k}.done`), new Date().toISOString());
    }
  }
  // the stamp of the stages goes into the layer ids: rebuilt stages make new layers
  const stamp = createHash('sha256').update(STAGES.map((_, k) => readFileSync(join(dir, `stage${k}.done`), 'utf8')).join()).digest('hex').slice(0, 8);
  return STAGES.map((_, k) => diffLayer(`debian-${stamp}-${k}`, k === 0 ? null : join(dir, `stage${k - 1}`), join(dir, `stage${k}`)));
}
