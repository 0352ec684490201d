/**
 * Test images made of real Debian package bytes: the .deb files pinned in
 * debian-packages.lock.json are fetched once with `apt-get download NAME=VERSION` into a cache
 * directory, checked against their sha256, and unpacked in code into fixture layers (one layer
 * per package, as `apt-get install` in one RUN per package would write it) plus a layer holding
 * the dpkg database entries dpkg itself writes (/var/lib/dpkg/status, info/<pkg>.list and
 * .md5sums). A package that is missing from the mirror or not pinned fails loudly with the fix.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extract } from 'tar-stream';
import type { Fixture, FixtureFile, FixtureLayer } from '../../src/fixtures/format.js';

export interface PinnedPackage {
  name: string;
  version: string;
  architecture: string;
  size: number;
  sha256: string;
}

interface Lock {
  comment: string;
  distribution: string;
  packages: PinnedPackage[];
}

const LOCK = join(dirname(fileURLToPath(import.meta.url)), 'debian-packages.lock.json');

export function readLock(): Lock {
  return JSON.parse(readFileSync(LOCK, 'utf8')) as Lock;
}

/** `KENSUS_DEB_CACHE`, else `$XDG_CACHE_HOME/kensus-test/debian-packages`: kept between runs. */
export function debCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.KENSUS_DEB_CACHE || join(base, 'kensus-test', 'debian-packages');
}

function pinned(name: string): PinnedPackage {
  const p = readLock().packages.find((x) => x.name === name);
  if (!p) {
    throw new Error(
      `Debian package ${name} is not pinned in test/support/debian-packages.lock.json: add it (name, version, architecture, size, sha256 from \`apt-cache show ${name}\`)`,
    );
  }
  return p;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function cachedPath(p: PinnedPackage): string {
  // The name apt-get download gives the file, with the epoch's ':' as '%3a'.
  return join(debCacheDir(), `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.architecture}.deb`);
}

/** Downloads (once) and checks the pinned .deb; returns its path in the cache. */
export function ensureDebianPackage(name: string): string {
  const p = pinned(name);
  const file = cachedPath(p);
  if (existsSync(file) && sha256File(file) === p.sha256) return file;
  mkdirSync(debCacheDir(), { recursive: true });
  // A private directory, so a half-finished download never sits under the final name.
  const tmp = join(debCacheDir(), `.download-${process.pid}-${name}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const r = spawnSync('apt-get', ['download', '-q', `${p.name}=${p.version}`], { cwd: tmp, encoding: 'utf8', timeout: 600_000 });
    if (r.error || r.status !== 0) {
      const said = (r.error?.message ?? `${r.stderr}${r.stdout}`).trim().split('\n').slice(-3).join(' | ');
      throw new Error(
        `apt-get download ${p.name}=${p.version} failed (${said}): the pinned version may be gone from the Debian mirror. ` +
          'Run `apt-get update` and re-pin with `node --import tsx test/support/debian-packages.ts --pin` (then review and commit the lock file)',
      );
    }
    const got = readdirSync(tmp).filter((n) => n.endsWith('.deb'));
    if (got.length !== 1) throw new Error(`apt-get download ${p.name}=${p.version} wrote ${JSON.stringify(got)}, expected one .deb`);
    const sum = sha256File(join(tmp, got[0]));
    if (sum !== p.sha256) {
      throw new Error(
        `${got[0]} has sha256 ${sum}, but debian-packages.lock.json pins ${p.sha256}: the mirror serves other bytes under the pinned version; re-pin only after checking why`,
      );
    }
    renameSync(join(tmp, got[0]), file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

function dpkgDeb(args: string[], maxBuffer = 1 << 20): Buffer {
  try {
    return execFileSync('dpkg-deb', args, { maxBuffer, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('dpkg-deb is missing: install the Debian package dpkg (it is essential on Debian)');
    throw new Error(`dpkg-deb ${args.join(' ')} failed: ${e.stderr?.toString().trim() ?? e.message}`);
  }
}

interface TarItem {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  mode: number;
  linkname?: string;
  body: Buffer;
}

async function readTar(tar: Buffer): Promise<TarItem[]> {
  const items: TarItem[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const raw = header.name.replace(/^\.\//, '').replace(/\/+$/, '');
        if (raw && raw !== '.') {
          const type = header.type === 'file' || header.type === 'directory' || header.type === 'symlink' || header.type === 'link' ? header.type : 'other';
          items.push({ path: `/${raw}`, type, mode: header.mode ?? 0o644, linkname: header.linkname ?? undefined, body: Buffer.concat(chunks) });
        }
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return items;
}

export interface DebianPackage {
  pin: PinnedPackage;
  /** The control fields as dpkg-deb -f prints them. */
  control: string;
  /** data.tar, unpacked. */
  items: TarItem[];
  /** control.tar's md5sums and conffiles, when the package has them. */
  md5sums?: string;
  conffiles?: string[];
}

/** Unpacks one pinned package (downloading it first when the cache lacks it). */
export async function readDebianPackage(name: string): Promise<DebianPackage> {
  const deb = ensureDebianPackage(name);
  const pin = pinned(name);
  const control = dpkgDeb(['-f', deb]).toString('utf8');
  const items = await readTar(dpkgDeb(['--fsys-tarfile', deb], 1 << 30));
  const ctrl = await readTar(dpkgDeb(['--ctrl-tarfile', deb], 16 << 20));
  const md5sums = ctrl.find((i) => i.path === '/md5sums')?.body.toString('utf8');
  const conffiles = ctrl
    .find((i) => i.path === '/conffiles')
    ?.body.toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return { pin, control, items, md5sums, conffiles };
}

function toFixtureFile(i: TarItem): FixtureFile | null {
  const mode = i.mode & 0o7777;
  switch (i.type) {
    case 'directory':
      return { path: i.path, dir: true, mode };
    case 'symlink':
      return { path: i.path, symlink: i.linkname ?? '' };
    case 'link':
      return { path: i.path, hardlink: `/${(i.linkname ?? '').replace(/^\.\//, '')}` };
    case 'file':
      return { path: i.path, base64: i.body.toString('base64'), mode };
    default:
      return null;
  }
}

/** The package's status stanza as dpkg writes it after installing: its control fields, Status after Package, and Conffiles with their md5. */
export function statusStanza(pkg: DebianPackage): string {
  const lines = pkg.control.replace(/\n+$/, '').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    out.push(line);
    if (line.startsWith('Package:')) out.push('Status: install ok installed');
  }
  if (pkg.conffiles?.length) {
    out.push('Conffiles:');
    for (const c of pkg.conffiles) {
      const body = pkg.items.find((i) => i.path === c)?.body ?? Buffer.alloc(0);
      out.push(` ${c} ${createHash('md5').update(body).digest('hex')}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function infoName(pkg: DebianPackage): string {
  // dpkg names the info files of Multi-Arch: same packages <name>:<arch>.
  return /^Multi-Arch: same$/m.test(pkg.control) ? `${pkg.pin.name}:${pkg.pin.architecture}` : pkg.pin.name;
}

/** The dpkg database layer for the installed packages (status, info/*.list, info/*.md5sums). */
export function dpkgDatabaseLayer(pkgs: DebianPackage[]): FixtureLayer {
  const files: FixtureFile[] = [{ path: '/var/lib/dpkg/status', content: pkgs.map(statusStanza).join('\n') }];
  for (const p of pkgs) {
    const list = ['/.', ...p.items.map((i) => i.path)].join('\n');
    files.push({ path: `/var/lib/dpkg/info/${infoName(p)}.list`, content: `${list}\n` });
    if (p.md5sums) files.push({ path: `/var/lib/dpkg/info/${infoName(p)}.md5sums`, content: p.md5sums });
  }
  return { files };
}

/** A fixture image of the given pinned packages (in install order) with their dpkg database. */
export async function debianFixture(
  name: string,
  packages: string[],
  meta: { description: string; refs?: string[]; env?: Record<string, string>; absent: string[] },
): Promise<Fixture> {
  const pkgs: DebianPackage[] = [];
  for (const n of packages) pkgs.push(await readDebianPackage(n));
  const layers: FixtureLayer[] = pkgs.map((p) => ({ files: p.items.map(toFixtureFile).filter((f): f is FixtureFile => f !== null) }));
  layers.push(dpkgDatabaseLayer(pkgs));
  return {
    name,
    signature: 'debian-real-bytes',
    description: meta.description,
    source: pkgs.map((p) => `Debian ${readLock().distribution} ${p.pin.name}=${p.pin.version} (sha256 ${p.pin.sha256})`).join(' ; '),
    image: { refs: meta.refs, env: meta.env },
    layers,
    expect: [],
    absent: meta.absent,
  };
}

/** `--pin`: rewrites versions, sizes and sha256 of the lock file from the machine's apt lists (candidate versions). */
function pinFromAptLists(): void {
  const lock = readLock();
  for (const p of lock.packages) {
    const show = execFileSync('apt-cache', ['show', p.name], { encoding: 'utf8' });
    const first = show.split('\n\n')[0];
    const field = (f: string): string => new RegExp(`^${f}: (.+)$`, 'm').exec(first)?.[1] ?? '';
    p.version = field('Version');
    p.architecture = field('Architecture');
    p.size = Number(field('Size'));
    p.sha256 = field('SHA256');
  }
  writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
  process.stdout.write(`pinned ${lock.packages.map((p) => `${p.name}=${p.version}`).join(', ')}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--pin')) pinFromAptLists();
