import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ContainerdSettings, ImageConfig, ImageHandle, ImagePresence, ImageSource, LayerHandle, OpenImageOptions } from '../image/types.js';
import { KensusError, badInput, unreachable } from '../errors.js';
import { log } from '../log.js';
import { withDigest } from '../model/image-name.js';
import { dirLayerHandle } from '../image/walk-dir.js';
import { absent, checkDigest, compressionOf, isIndex, parseImageConfig, pickPlatform, platformsOf, type Descriptor, type Manifest } from './live-common.js';
import { sha256 } from '../image/oci.js';
import { parseRegistryRef } from './registry.js';

/**
 * `containerd:NAME` — containerd's gRPC API over its unix socket (never the `ctr` binary):
 * images.Get → target → content.Read of index, manifest, config and layers by digest, in the
 * namespace given (k8s.io by default, as on a Kubernetes node).
 *
 * When the compressed layers are gone from the content store (CRI with
 * `discard_unpacked_layers = true` deletes them once unpacked), the image is read from its
 * unpacked overlayfs snapshots instead: chain IDs from the config's diff_ids → the top
 * snapshot → a short-lived view whose mount options list every layer's directory → each
 * directory walked as a layer (overlay whiteouts mapped to tar whiteouts).
 */
const defaults: ContainerdSettings = {
  address: process.env.CONTAINERD_ADDRESS ?? '/run/containerd/containerd.sock',
  namespace: process.env.CONTAINERD_NAMESPACE ?? 'k8s.io',
  snapshots: 'auto',
  timeoutMs: 30_000,
};

/** The settings a scan passes down (--containerd-address, --containerd-namespace), over the defaults. */
export function containerdSettings(given: Partial<ContainerdSettings> = {}): ContainerdSettings {
  return { ...defaults, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
}

/** The .proto files live in src/ (also when running from dist/, which tsc does not copy them to). */
function protoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'containerd-proto')];
  for (let up = here, i = 0; i < 4; i++, up = dirname(up)) candidates.push(join(up, 'src', 'sources', 'containerd-proto'));
  for (const d of candidates) {
    if (existsSync(join(d, 'content.proto'))) return d;
  }
  throw new Error(`containerd .proto definitions not found next to ${here}`);
}

interface Clients {
  content: any;
  images: any;
  snapshots: any;
}
const clients = new Map<string, Clients>();
let packageDef: any;

function clientsFor(address: string): Clients {
  let c = clients.get(address);
  if (c) return c;
  if (!packageDef) {
    const dir = protoDir();
    const def = protoLoader.loadSync(['content.proto', 'images.proto', 'snapshots.proto'], {
      includeDirs: [dir],
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
    });
    packageDef = grpc.loadPackageDefinition(def) as any;
  }
  const target = `unix://${address}`;
  const creds = grpc.credentials.createInsecure();
  const opts = { 'grpc.max_receive_message_length': 32 << 20 };
  const svc = packageDef.containerd.services;
  c = {
    content: new svc.content.v1.Content(target, creds, opts),
    images: new svc.images.v1.Images(target, creds, opts),
    snapshots: new svc.snapshots.v1.Snapshots(target, creds, opts),
  };
  clients.set(address, c);
  return c;
}

/** A clear error for a socket that is not there or not ours to use, before gRPC's vaguer one. */
function checkSocket(address: string): void {
  let st;
  try {
    st = statSync(address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw unreachable(`permission denied on containerd socket ${address}`, 'run Kensus as root or as a user allowed to use the socket');
    throw unreachable(`containerd socket ${address} does not exist`, 'is containerd running? give its socket with --containerd-address');
  }
  if (!st.isSocket()) throw badInput(`${address} is not a unix socket`, 'give containerd\'s gRPC socket with --containerd-address');
  try {
    accessSync(address, constants.R_OK | constants.W_OK);
  } catch {
    throw unreachable(`permission denied on containerd socket ${address}`, 'run Kensus as root or as a user allowed to use the socket');
  }
}

function meta(s: ContainerdSettings): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('containerd-namespace', s.namespace);
  return m;
}

function deadline(s: ContainerdSettings): Date {
  return new Date(Date.now() + s.timeoutMs);
}

function grpcError(s: ContainerdSettings, err: grpc.ServiceError, what: string): KensusError {
  if (err.code === grpc.status.UNAVAILABLE) {
    return unreachable(`containerd at ${s.address} is unavailable (${what}): ${err.details}`, 'is containerd running? give its socket with --containerd-address');
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return unreachable(`containerd at ${s.address} did not answer within ${s.timeoutMs / 1000} s (${what})`);
  if (err.code === grpc.status.PERMISSION_DENIED) return unreachable(`containerd refused ${what}: ${err.details}`, 'run Kensus as root');
  return unreachable(`containerd: ${what} failed: ${err.details || err.message}`);
}

function unary<T>(s: ContainerdSettings, client: any, method: string, req: object, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](req, meta(s), { deadline: deadline(s) }, (err: grpc.ServiceError | null, res: T) => {
      if (err) reject(Object.assign(grpcError(s, err, what), { grpcCode: err.code }));
      else resolve(res);
    });
  });
}

function isNotFound(err: unknown): boolean {
  return (err as { grpcCode?: number }).grpcCode === grpc.status.NOT_FOUND;
}

/** content.Read as a stream of the stored bytes. */
function readStream(s: ContainerdSettings, digest: string, what: string): Readable {
  const out = new PassThrough();
  const { content } = clientsFor(s.address);
  // No deadline: a big layer may take long; stalls are bounded by the reader's consumption.
  const call = content.Read({ digest, offset: 0, size: 0 }, meta(s));
  call.on('data', (msg: { data: Buffer }) => {
    if (!out.write(msg.data)) {
      call.pause();
      out.once('drain', () => call.resume());
    }
  });
  call.on('end', () => out.end());
  call.on('error', (err: grpc.ServiceError) => {
    if (err.code === grpc.status.CANCELLED) return;
    out.destroy(err.code === grpc.status.NOT_FOUND ? unreachable(`${what} ${digest} is not in containerd's content store`) : grpcError(s, err, `reading ${what}`));
  });
  out.on('close', () => call.cancel());
  return out;
}

async function readBlob(s: ContainerdSettings, digest: string, what: string, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of readStream(s, digest, what)) {
    n += (chunk as Buffer).length;
    if (n > limit) throw unreachable(`${what} ${digest} is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const data = Buffer.concat(chunks);
  checkDigest(data, digest, `${what} from containerd`);
  return data;
}

interface CtrImage {
  name: string;
  target: { mediaType: string; digest: string; size: number };
}

function parseJson<T>(data: Buffer, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    throw unreachable(`${what} in containerd's content store is not JSON`, 'the content store is damaged; pull the image again');
  }
}

async function getImage(s: ContainerdSettings, name: string): Promise<CtrImage> {
  const { images } = clientsFor(s.address);
  const candidates = [name];
  try {
    const r = parseRegistryRef(name);
    const full = `${r.host}/${r.repo}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
    if (full !== name) candidates.push(full);
  } catch {
    /* not a registry-style name: only the exact one */
  }
  for (const n of candidates) {
    try {
      const res = await unary<{ image: CtrImage }>(s, images, 'get', { name: n }, `image lookup of ${n}`);
      return res.image;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  // By digest (an image ID or repo@sha256:... as pods report them): any image with that target.
  const digest = /(?:^|@)(sha256:[0-9a-f]{64})$/.exec(name)?.[1];
  if (digest) {
    const res = await unary<{ images: CtrImage[] }>(s, images, 'list', { filters: [`target.digest==${digest}`] }, `image lookup of ${digest}`);
    if (res.images?.[0]) return res.images[0];
  }
  throw unreachable(
    `image ${name} is not in containerd namespace ${s.namespace} (${s.address})`,
    `list the images with 'ctr -n ${s.namespace} images ls'; another namespace is chosen with --containerd-namespace`,
  );
}

/** Chain IDs of the snapshots an image unpacks to (OCI image spec: layer chain ID). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length ? sha256(`${out[out.length - 1]} ${d}`) : d);
  return out;
}

/** Layer directories from a view's mounts, bottom first. */
export function layerDirsFromMounts(mounts: Array<{ type: string; source: string; options: string[] }>): string[] {
  const m = mounts[0];
  if (!m) return [];
  if (m.type === 'bind') return [m.source];
  if (m.type === 'overlay') {
    const lower = m.options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length) ?? '';
    const upper = m.options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
    const dirs = lower.split(':').filter(Boolean).reverse();
    if (upper) dirs.push(upper);
    return dirs;
  }
  return [];
}

async function snapshotLayers(s: ContainerdSettings, config: ImageConfig, configDigest: string, ref: string): Promise<LayerHandle[]> {
  const { content, snapshots } = clientsFor(s.address);
  const chains = chainIds(config.diffIds);
  const top = chains[chains.length - 1];
  if (!top) throw unreachable(`${ref}: the image config lists no layers (diff_ids)`);
  // The unpacker records which snapshotter holds the image on the config blob's GC labels.
  let snapshotter = 'overlayfs';
  try {
    const info = await unary<{ info: { labels: Record<string, string> } }>(s, content, 'info', { digest: configDigest }, 'config info');
    const label = Object.keys(info.info.labels ?? {}).find((k) => k.startsWith('containerd.io/gc.ref.snapshot.'));
    if (label) snapshotter = label.slice('containerd.io/gc.ref.snapshot.'.length);
  } catch {
    /* keep the default */
  }
  try {
    await unary(s, snapshots, 'stat', { snapshotter, key: top }, 'snapshot stat');
  } catch (err) {
    if (isNotFound(err)) {
      throw unreachable(
        `${ref}: its layers are not in containerd's content store and it is not unpacked (no ${snapshotter} snapshot ${top.slice(0, 19)}…)`,
        'the image was garbage-collected; pull it again or scan it from its registry (registry:NAME)',
      );
    }
    throw err;
  }
  const key = `kensus-view-${randomBytes(8).toString('hex')}`;
  const view = await unary<{ mounts: Array<{ type: string; source: string; options: string[] }> }>(s, snapshots, 'view', { snapshotter, key, parent: top, labels: {} }, 'snapshot view');
  // The view only names the committed layers' directories: remove it at once, they stay.
  await unary(s, snapshots, 'remove', { snapshotter, key }, 'snapshot view removal').catch((err) => log.warn({ key, err: (err as Error).message }, 'could not remove the temporary snapshot view'));
  const dirs = layerDirsFromMounts(view.mounts ?? []);
  if (dirs.length !== chains.length) {
    throw unreachable(`${ref}: the ${snapshotter} snapshot chain has ${dirs.length} layer directories for ${chains.length} layers`, 'only the overlayfs and native snapshotters are read node-locally');
  }
  return dirs.map((dir, i) => ({
    ...dirLayerHandle(dir, `containerd-snapshot:${chains[i]}`, { overlay: true, origin: `snapshot:${chains[i]}` }),
    diffId: config.diffIds[i],
  }));
}

async function layerPresent(s: ContainerdSettings, digest: string): Promise<boolean> {
  try {
    await unary(s, clientsFor(s.address).content, 'info', { digest }, 'layer info');
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function resolve(s: ContainerdSettings, name: string, options: OpenImageOptions): Promise<{ image: CtrImage; manifest: Manifest; digest: string }> {
  if (!name) throw badInput('containerd: image name is empty', 'write containerd:NAME, e.g. containerd:docker.io/library/busybox:latest');
  checkSocket(s.address);
  const image = await getImage(s, name);
  let desc: Descriptor = image.target;
  let manifest = parseJson<Manifest>(await readBlob(s, desc.digest, 'manifest'), `manifest ${desc.digest}`);
  if (isIndex(manifest, desc.mediaType)) {
    const pick = pickPlatform(manifest, options.platform);
    if (!pick) throw badInput(`${name} has no image for platform ${options.platform ?? 'linux/amd64'}; it offers ${platformsOf(manifest) || 'none'}`, 'choose one with --platform');
    desc = pick;
    manifest = parseJson<Manifest>(await readBlob(s, desc.digest, 'manifest'), `manifest ${desc.digest}`);
  }
  if (!manifest.config || !Array.isArray(manifest.layers)) throw unreachable(`${name}: the manifest in containerd has no config or layers`);
  return { image, manifest, digest: desc.digest };
}

export const containerdSource: ImageSource = {
  scheme: 'containerd',
  form: 'NAME',
  bareNameOrder: 2,

  async open(name: string, options: OpenImageOptions): Promise<ImageHandle> {
    const s = containerdSettings(options.live?.containerd);
    const { image, manifest, digest } = await resolve(s, name, options);
    const config = parseImageConfig(parseJson(await readBlob(s, manifest.config!.digest, 'image config'), `image config ${manifest.config!.digest}`));
    let layers: LayerHandle[];
    let present = s.snapshots !== 'always';
    if (present && s.snapshots === 'auto') {
      for (const l of manifest.layers!) if (!(await layerPresent(s, l.digest))) present = false;
      if (!present) log.info({ image: image.name }, 'layer blobs garbage-collected; reading the unpacked snapshots');
    }
    if (present) {
      layers = manifest.layers!.map((desc, i) => ({
        digest: desc.digest,
        diffId: config.diffIds[i],
        mediaType: desc.mediaType,
        compression: compressionOf(desc.mediaType),
        size: desc.size,
        bytes: { kind: 'stream', open: async () => readStream(s, desc.digest, `layer ${i + 1}`) },
      }));
    } else {
      layers = await snapshotLayers(s, config, manifest.config!.digest, `containerd:${name}`);
    }
    return {
      ref: `containerd:${name}`,
      source: present ? 'containerd' : 'containerd-snapshot',
      digest,
      configDigest: manifest.config!.digest,
      config,
      layers,
      refs: [image.name, withDigest(image.name, image.target.digest)],
      untrustedCacheScope: `containerd:${s.address}:${s.namespace}:${digest}`,
      close: async () => {},
    };
  },

  async has(name: string, options: OpenImageOptions): Promise<ImagePresence> {
    const s = containerdSettings(options.live?.containerd);
    try {
      if (!existsSync(s.address)) return { found: false, reason: `socket ${s.address} missing` };
      await resolve(s, name, options);
      return { found: true };
    } catch (err) {
      return absent(err);
    }
  },
};
