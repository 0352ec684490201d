import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import tar from 'tar-stream';
import { dockerCli, requireBinary } from '../support/daemons.js';

/**
 * A stand-in for node:20-bookworm-slim, made from this machine (no image can be pulled here):
 * its node binary and the shared libraries it links, npm, the CA bundle npm is configured with,
 * and busybox for the shell and tools the Dockerfile's build step and the reports CronJob run
 * (sh, tar, ln, mkdir, date, find). Imported with `docker import`, as a base image made by hand.
 */
export const NODE_BASE_IMAGE = `kensus-test/node-base:${process.versions.node}`;

const NPM_DIR = '/usr/lib/node_modules/npm';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** The files (absolute paths) node needs to start: itself, its loader and libraries. */
function nodeFiles(): string[] {
  const node = realpathSync(process.execPath);
  const ldd = execFileSync('ldd', [node], { encoding: 'utf8' });
  const libs = [...ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]);
  return [node, ...libs];
}

/** Adds a file at its real path (under /usr: the merged-/usr layout of Debian) and, when it was named through a link, that link too. */
function addFile(pack: tar.Pack, path: string, added: Set<string>): void {
  const real = realpathSync(path);
  if (!added.has(real)) {
    const st = statSync(real);
    pack.entry({ name: real.slice(1), mode: st.mode & 0o7777, size: st.size }, readFileSync(real));
    added.add(real);
  }
  const link = join(realpathSync(dirname(path)), basename(path));
  if (link !== real && !added.has(link)) {
    pack.entry({ name: link.slice(1), type: 'symlink', linkname: real });
    added.add(link);
  }
}

function addTree(pack: tar.Pack, dir: string): void {
  pack.entry({ name: dir.slice(1), type: 'directory', mode: statSync(dir).mode & 0o7777 });
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const st = lstatSync(p);
    if (st.isDirectory()) addTree(pack, p);
    else if (st.isSymbolicLink()) pack.entry({ name: p.slice(1), type: 'symlink', linkname: readlinkSync(p) });
    else if (st.isFile()) pack.entry({ name: p.slice(1), mode: st.mode & 0o7777, size: st.size }, readFileSync(p));
  }
}

function rootfs(): tar.Pack {
  const pack = tar.pack();
  for (const d of ['etc', 'etc/ssl', 'etc/ssl/certs', 'usr', 'usr/bin', 'usr/sbin', 'usr/local', 'usr/local/bin', 'usr/lib', 'usr/lib64', 'usr/lib/x86_64-linux-gnu', 'usr/lib/node_modules', 'root', 'var', 'var/cache', 'var/lib']) {
    pack.entry({ name: d, type: 'directory', mode: 0o755 });
  }
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) pack.entry({ name: l, type: 'symlink', linkname: `usr/${l}` });
  pack.entry({ name: 'tmp', type: 'directory', mode: 0o1777 });
  const added = new Set<string>();
  for (const f of nodeFiles()) addFile(pack, f, added);
  if (!added.has('/usr/bin/node')) pack.entry({ name: 'usr/bin/node', type: 'symlink', linkname: realpathSync(process.execPath) });
  if (!existsSync(join(NPM_DIR, 'bin', 'npm-cli.js'))) throw new Error(`npm is not at ${NPM_DIR}: the base image needs this machine's npm (Debian's nodejs/npm or the Node installer's)`);
  addTree(pack, NPM_DIR);
  pack.entry({ name: 'usr/bin/npm', type: 'symlink', linkname: '../lib/node_modules/npm/bin/npm-cli.js' });
  pack.entry({ name: 'usr/bin/npx', type: 'symlink', linkname: '../lib/node_modules/npm/bin/npx-cli.js' });
  const ca = readFileSync(realpathSync(CA_BUNDLE));
  pack.entry({ name: CA_BUNDLE.slice(1), mode: 0o644, size: ca.length }, ca);
  // npm's global config is $PREFIX/etc/npmrc (/usr/etc/npmrc); this machine's registry access may
  // go through a CA of its own, named there.
  pack.entry({ name: 'usr/etc', type: 'directory', mode: 0o755 });
  pack.entry({ name: 'usr/etc/npmrc', mode: 0o644 }, `cafile=${CA_BUNDLE}\nupdate-notifier=false\nfund=false\naudit=false\n`);
  pack.entry({ name: 'etc/passwd', mode: 0o644 }, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  pack.entry({ name: 'etc/group', mode: 0o644 }, 'root:x:0:\nnobody:x:65534:\n');
  const busybox = requireBinary('busybox', 'busybox-static');
  const bin = readFileSync(busybox);
  pack.entry({ name: 'usr/bin/busybox', mode: 0o755, size: bin.length }, bin);
  const taken = new Set(['/usr/bin/busybox', '/usr/bin/node', '/usr/bin/npm', '/usr/bin/npx', ...added]);
  for (const applet of execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean)) {
    const path = `/${applet.replace(/^\//, '')}`.replace(/^\/(s?bin)\//, '/usr/$1/');
    if (taken.has(path)) continue;
    taken.add(path);
    pack.entry({ name: path.slice(1), type: 'symlink', linkname: '/usr/bin/busybox' });
  }
  pack.finalize();
  return pack;
}

function imageExists(name: string, env: NodeJS.ProcessEnv): boolean {
  try {
    execFileSync(dockerCli(), ['image', 'inspect', name], { env, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Imports the base once per node version into the test dockerd (DOCKER_HOST of the global setup). */
export async function ensureNodeBaseImage(): Promise<string> {
  const env = { ...process.env };
  if (!env.DOCKER_HOST) throw new Error('DOCKER_HOST is not set: run under vitest (the global setup starts the test dockerd)');
  if (imageExists(NODE_BASE_IMAGE, env)) return NODE_BASE_IMAGE;
  const child = spawn(dockerCli(), ['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--change', 'CMD ["node"]', '-', NODE_BASE_IMAGE], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr.on('data', (d: Buffer) => err.push(d));
  rootfs().pipe(child.stdin);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`docker import of ${NODE_BASE_IMAGE} failed (${code}): ${Buffer.concat(err).toString()}`);
  return NODE_BASE_IMAGE;
}
