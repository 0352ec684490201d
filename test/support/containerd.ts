import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonsRoot, requireBinary, waitFor, pidAlive, discardStaleState, exitedWith } from './daemons.js';

/**
 * Debian's containerd for the tests: its own socket, root, state and config under the temp dir
 * (never the system's /run/containerd), reused across runs. The CRI plugin is on with
 * `discard_unpacked_layers = true`, as on many Kubernetes nodes, so an image pulled through CRI
 * loses its compressed layers once unpacked (the GC'd-content case). Registry hosts are read
 * from `certs.d/` so a test can point CRI at the loopback test registry over plain HTTP.
 */
export interface TestContainerd {
  socket: string;
  root: string;
  certsDir: string;
}

const dir = join(daemonsRoot, 'containerd');

export function containerdSocket(): string {
  return join(dir, 'containerd.sock');
}

function ctrOk(socket: string): boolean {
  try {
    execFileSync(requireBinary('ctr', 'containerd'), ['-a', socket, 'version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}


export async function ensureContainerd(): Promise<TestContainerd> {
  const containerd = requireBinary('containerd', 'containerd');
  const socket = containerdSocket();
  const root = join(dir, 'root');
  const certsDir = join(dir, 'certs.d');
  const pidFile = join(dir, 'containerd.pid');
  if (pidAlive(pidFile, 'containerd')) {
    await waitFor(`the running containerd on ${socket}`, () => ctrOk(socket), 90_000);
    return { socket, root, certsDir };
  }
  discardStaleState(dir);
  mkdirSync(certsDir, { recursive: true });
  const config = `version = 2
root = "${root}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_cgroup = true
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    discard_unpacked_layers = true
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${certsDir}"
`;
  writeFileSync(join(dir, 'config.toml'), config);
  const logFile = join(dir, 'containerd.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(containerd, ['--config', join(dir, 'config.toml')], { detached: true, stdio: ['ignore', logFd, logFd] });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  await waitFor(`containerd on ${socket} (log: ${logFile})`, () => ctrOk(socket), 90_000, exitedWith(child, logFile));
  return { socket, root, certsDir };
}

/**
 * Sends CRI pulls of `host` to a loopback registry over plain HTTP (certs.d hosts.toml). The
 * `server` line replaces the upstream, so containerd never falls back to the real host.
 */
export function allowHttpRegistry(certsDir: string, host: string, endpoint: string): void {
  mkdirSync(join(certsDir, host), { recursive: true });
  writeFileSync(join(certsDir, host, 'hosts.toml'), `server = "http://${endpoint}"\n\n[host."http://${endpoint}"]\n  capabilities = ["pull", "resolve"]\n`);
}

/** Imports a docker-archive into containerd (test setup only: product code never runs ctr). */
export function ctrImport(socket: string, namespace: string, archive: string): void {
  execFileSync(requireBinary('ctr', 'containerd'), ['-a', socket, '-n', namespace, 'images', 'import', '--snapshotter', 'overlayfs', archive], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60_000,
  });
}

export function ctr(socket: string, namespace: string, args: string[]): string {
  return execFileSync(requireBinary('ctr', 'containerd'), ['-a', socket, '-n', namespace, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** Pulls an image through containerd's CRI ImageService, as the kubelet does. */
export async function criPull(socket: string, image: string): Promise<string> {
  const grpc = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const { fileURLToPath } = await import('node:url');
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'cri-proto');
  const def = grpc.loadPackageDefinition(loader.loadSync('api.proto', { includeDirs: [dir], defaults: true })) as any;
  const client = new def.runtime.v1.ImageService(`unix://${socket}`, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      client.PullImage({ image: { image } }, { deadline: new Date(Date.now() + 60_000) }, (err: Error | null, res: { imageRef: string }) =>
        err ? reject(err) : resolve(res.imageRef),
      ),
    );
  } finally {
    client.close();
  }
}
