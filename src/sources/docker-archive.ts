/**
 * `docker-archive:PATH[:REF]`: a `docker save` tar. Both layouts docker writes are read: the
 * legacy one (<id>/layer.tar, <config>.json, manifest.json) and the OCI layout docker >= 25
 * writes (blobs/sha256/..., index.json, plus manifest.json). The tar is indexed once by header
 * walk; each layer becomes a file region the walker seeks in. A pipe or /dev/stdin is read once,
 * as a stream (see openDockerArchiveStream).
 */
import { stat } from 'node:fs/promises';
import { badInput } from '../errors.js';
import { ArchiveStore, MAX_JSON_BYTES, fileError, parseJson, statFile } from '../image/blob-store.js';
import { configFromRaw, regionLayer, sha256, resolveOciLayout, type RawConfig } from '../image/oci.js';
import type { ImageHandle, ImageSource, LayerCompression, LayerHandle, OpenImageOptions } from '../image/types.js';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { normaliseEntryPath } from '../image/tar.js';
import { TarEndGuard } from '../image/tar-end.js';
import { sniffCompression } from '../image/inflate.js';

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Splits "PATH[:REF]": the longest prefix naming an existing file is the path (paths may hold
 * colons); what follows the next ':' picks an image out of a multi-image archive.
 */
export async function splitPathRef(spec: string): Promise<{ path: string; ref?: string }> {
  const cuts = [spec.length];
  for (let i = spec.length - 1; i > 0; i--) if (spec[i] === ':') cuts.push(i);
  for (const cut of cuts) {
    try {
      await stat(spec.slice(0, cut));
      return { path: spec.slice(0, cut), ref: cut < spec.length ? spec.slice(cut + 1) : undefined };
    } catch {
      /* try a shorter prefix */
    }
  }
  return { path: spec };
}

function blobDigest(name: string): string | undefined {
  const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name.replace(/^\.?\//, ''));
  return m ? `sha256:${m[1]}` : undefined;
}

function pickEntry(entries: DockerManifestEntry[], ref: string | undefined, describe: string): DockerManifestEntry {
  if (!entries.length) throw badInput(`${describe}: manifest.json lists no image`, 'the archive is incomplete; recreate it with docker save');
  if (ref) {
    const want = ref.includes(':') ? ref : `${ref}:latest`;
    const hit = entries.find((e) => (e.RepoTags ?? []).some((t) => t === ref || t === want || t.endsWith(`/${want}`)));
    if (!hit) throw badInput(`${describe} has no image "${ref}"; it has ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'untagged images only'}`);
    return hit;
  }
  if (entries.length > 1) {
    throw badInput(
      `${describe} holds ${entries.length} images (${entries.flatMap((e) => e.RepoTags ?? []).join(', ')})`,
      'pick one with docker-archive:PATH:NAME:TAG',
    );
  }
  return entries[0];
}

/** Checks the config against its name (its digest in both layouts) and the layer count. */
function checkConfig(configBuf: Buffer, entry: DockerManifestEntry, path: string): { configDigest: string; config: ReturnType<typeof configFromRaw> } {
  const configDigest = sha256(configBuf);
  const named = blobDigest(entry.Config) ?? (/^([0-9a-f]{64})\.json$/.exec(entry.Config) ? `sha256:${entry.Config.slice(0, 64)}` : undefined);
  if (named && named !== configDigest) {
    throw badInput(`${path}: config ${entry.Config} hashes to ${configDigest}`, 'the archive is corrupt or was tampered with; recreate it');
  }
  const config = configFromRaw(parseJson<RawConfig>(configBuf, `${path}: ${entry.Config}`));
  if (config.diffIds.length !== entry.Layers.length) {
    throw badInput(`${path}: manifest.json lists ${entry.Layers.length} layers but the config ${config.diffIds.length} diff_ids`, 'the archive is corrupt; recreate it');
  }
  return { configDigest, config };
}

function parseManifest(buf: Buffer, path: string, imageRef: string | undefined): DockerManifestEntry {
  const entry = pickEntry(parseJson<DockerManifestEntry[]>(buf, `${path}: manifest.json`), imageRef, path);
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) throw badInput(`${path}: manifest.json lacks Config or Layers`, 'the archive is corrupt; recreate it');
  return entry;
}

export async function openDockerArchive(spec: string, options: OpenImageOptions, ref = `docker-archive:${spec}`): Promise<ImageHandle> {
  const { path, ref: imageRef } = await splitPathRef(spec);
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fileError(err, path);
  }
  if (st.isFIFO() || st.isCharacterDevice() || st.isSocket()) return openDockerArchiveStream(path, ref, imageRef);
  const file = await statFile(path, path);
  const store = await ArchiveStore.open(path, path);
  const scope = `${path}:${file.size}:${file.mtimeMs}`;
  const manifestBuf = await store.readSmall('manifest.json');
  if (!manifestBuf) {
    if (store.has('index.json')) {
      // An OCI archive given as docker-archive: read it as what it is.
      const img = await resolveOciLayout(store, { platform: options.platform ?? 'linux/amd64', tag: imageRef });
      return { ref, source: 'oci-archive', digest: img.manifestDigest, configDigest: img.configDigest, config: img.config, layers: img.layers, refs: img.refs, untrustedCacheScope: scope, close: async () => {} };
    }
    throw badInput(`${path} has no manifest.json: not a docker save archive`, 'create it with docker save IMAGE -o FILE');
  }
  const entry = parseManifest(manifestBuf, path, imageRef);
  const configBuf = await store.readSmall(entry.Config);
  if (!configBuf) throw badInput(`${path}: manifest.json names config ${entry.Config}, which is missing`, 'the archive is incomplete; recreate it');
  const { configDigest, config } = checkConfig(configBuf, entry, path);
  const layers: LayerHandle[] = [];
  for (let i = 0; i < entry.Layers.length; i++) {
    const name = entry.Layers[i];
    const region = await store.region(name);
    if (!region) throw badInput(`${path}: manifest.json names layer ${name}, which is missing from the archive`, 'the archive is incomplete; recreate it with docker save');
    const diffId = config.diffIds[i];
    const stored = blobDigest(name);
    const layer = regionLayer(region, { mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: stored ?? diffId, diffId });
    // Legacy layers are known only by diff_id: for a compressed one, check the inflated tar.
    if (!stored && layer.compression !== 'none') layer.digestOf = 'uncompressed';
    layers.push(layer);
  }
  return {
    ref,
    source: 'docker-archive',
    // The image ID: the same for every docker version that saved it (manifests differ).
    digest: configDigest,
    configDigest,
    config,
    layers,
    refs: (entry.RepoTags ?? []).filter(Boolean),
    untrustedCacheScope: scope,
    close: async () => {},
  };
}

/** One member of tar-stream's extract, as this file uses it. */
interface StreamMember extends AsyncIterable<Buffer> {
  header: { name: string; size?: number; type?: string | null; linkname?: string | null };
  resume(): void;
}

/** Members held in memory when streaming: the small JSON files, never layers. */
function isMetadataName(name: string): boolean {
  return name === 'manifest.json' || name === 'index.json' || name === 'oci-layout' || name === 'repositories' || name.endsWith('.json') || name.endsWith('/json') || name.endsWith('/VERSION');
}

async function collect(stream: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    if (n > max) throw badInput(`${what} is more than ${max} bytes: not image metadata`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/**
 * A docker save tar arriving on a pipe. Nothing is spilled to disk: the small JSON members are
 * held, every other member is walked through the plan as it arrives (docker writes layers
 * before manifest.json), and once manifest.json is known the per-layer results are taken in
 * manifest order. Every layer's bytes are hashed on the way, so every digest is checked.
 */
export function openDockerArchiveStream(path: string, ref: string, imageRef: string | undefined): ImageHandle {
  let used = false;
  const handle: ImageHandle = {
    ref,
    source: 'docker-archive',
    digest: '',
    configDigest: '',
    config: { labels: {}, env: {}, diffIds: [] },
    layers: [],
    refs: [],
    untrustedCacheScope: `stream:${path}`,
    close: async () => {},
    async readOnce(walk) {
      if (used) throw badInput(`${path} is a pipe and was already read`, 'save the archive to a file to scan it twice');
      used = true;
      const held = new Map<string, Buffer>();
      const links = new Map<string, string>();
      const walked = new Map<string, { storedDigest: string; tarDigest?: string; compression: LayerCompression }>();
      const extract = tar.extract();
      const input = createReadStream(path);
      // The archive ends at its two zero blocks, whether or not the input does (/dev/zero).
      const guard = new TarEndGuard(() => input.destroy());
      let members = 0;
      input.on('error', (err) => extract.destroy(err));
      input.pipe(guard).pipe(extract);
      try {
        for await (const entry of extract as unknown as AsyncIterable<StreamMember>) {
          members++;
          const h = entry.header;
          const name = normaliseEntryPath(h.name)?.slice(1);
          if (!name || (h.type !== 'file' && h.type !== 'contiguous-file')) {
            if (name && (h.type === 'symlink' || h.type === 'link') && h.linkname) {
              const base = h.type === 'symlink' && !h.linkname.startsWith('/') ? `${name.slice(0, name.lastIndexOf('/') + 1)}${h.linkname}` : h.linkname;
              const target = normaliseEntryPath(base)?.slice(1);
              if (target) links.set(name, target);
            }
            entry.resume();
            continue;
          }
          const size = h.size ?? 0;
          if (isMetadataName(name) && size <= MAX_JSON_BYTES) {
            held.set(name, await collect(entry, MAX_JSON_BYTES, `${path}: ${name}`));
            continue;
          }
          const it = entry[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
          // Peek at the first block: a tar header or a compression magic means a layer.
          const peeked: Buffer[] = [];
          let peekedBytes = 0;
          let done = false;
          while (peekedBytes < 512 && !done) {
            const r = await it.next();
            if (r.done) done = true;
            else {
              peeked.push(r.value);
              peekedBytes += r.value.length;
            }
          }
          const head = Buffer.concat(peeked);
          const compression = sniffCompression(head);
          const isTar = head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar';
          if (!compression && !isTar) {
            // Metadata (an OCI JSON blob, VERSION, an empty layer of zeros): small, so held;
            // a held member the manifest names as a layer is walked from memory later.
            if (size > MAX_JSON_BYTES) throw badInput(`${path}: member ${name} is neither a layer nor metadata`, 'pipe the output of docker save');
            const rest = done ? Buffer.alloc(0) : await collect({ [Symbol.asyncIterator]: () => it }, MAX_JSON_BYTES, `${path}: ${name}`);
            held.set(name, Buffer.concat([head, rest]));
            continue;
          }
          const body = Readable.from(
            (async function* () {
              yield head;
              if (done) return;
              for (;;) {
                const n = await it.next();
                if (n.done) return;
                yield n.value;
              }
            })(),
          );
          walked.set(name, { ...(await walk(name, body, compression ?? 'none')), compression: compression ?? 'none' });
        }
      } catch (err) {
        if ((err as { exitCode?: number }).exitCode) throw err;
        throw badInput(`${path} is not a valid tar stream: ${(err as Error).message}`, 'pipe the output of docker save');
      } finally {
        // Stop reading the pipe on any failure (the writer gets EPIPE, no fd is left open).
        input.destroy();
      }
      const resolve = (n: string): string => {
        let cur = n.replace(/^\.?\/+/, '');
        for (let hops = 0; links.has(cur) && hops < 40; hops++) cur = links.get(cur)!;
        return cur;
      };
      const manifestBuf = held.get('manifest.json');
      if (!manifestBuf && members === 0) throw badInput(`${path} holds no tar member: an empty archive, or only zero blocks`, 'pipe the output of docker save IMAGE');
      if (!manifestBuf) throw badInput(`${path} has no manifest.json: not a docker save archive`, 'pipe the output of docker save IMAGE');
      const entry = parseManifest(manifestBuf, path, imageRef);
      const configBuf = held.get(resolve(entry.Config));
      if (!configBuf) throw badInput(`${path}: manifest.json names config ${entry.Config}, which is missing`, 'the archive is incomplete; recreate it');
      const { configDigest, config } = checkConfig(configBuf, entry, path);
      for (const layerName of entry.Layers) {
        const name = resolve(layerName);
        const mem = held.get(name);
        if (!walked.has(name) && mem) {
          const compression = sniffCompression(mem) ?? 'none';
          walked.set(name, { ...(await walk(name, Readable.from([mem]), compression)), compression });
        }
      }
      handle.layers = entry.Layers.map((layerName, i) => {
        const name = resolve(layerName);
        const got = walked.get(name);
        if (!got) throw badInput(`${path}: manifest.json names layer ${layerName}, which is missing from the archive`, 'the archive is incomplete; recreate it with docker save');
        const stored = blobDigest(name);
        const want = stored ?? config.diffIds[i];
        const actual = stored ? got.storedDigest : (got.tarDigest ?? got.storedDigest);
        if (actual !== want) {
          throw badInput(`${path}: layer ${layerName} hashes to ${actual}, not the declared ${want}`, 'the archive is corrupt or was tampered with; recreate it');
        }
        return {
          digest: want,
          diffId: config.diffIds[i],
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar',
          compression: got.compression,
          digestOf: stored ? 'stored' : 'uncompressed',
          bytes: { kind: 'read-once', member: name },
        } satisfies LayerHandle;
      });
      handle.digest = configDigest;
      handle.configDigest = configDigest;
      handle.config = config;
      handle.refs = (entry.RepoTags ?? []).filter(Boolean);
    },
  };
  return handle;
}

/** A regular file that starts with a tar header (docker-archive reads both docker's layouts and an OCI archive). */
async function isTarFile(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  return head.toString('latin1', 257, 262) === 'ustar';
}

export const dockerArchiveSource: ImageSource = {
  scheme: 'docker-archive',
  form: 'PATH',
  // Any tar: docker save writes manifest.json, an OCI archive has index.json, and this source reads both.
  sniff: isTarFile,
  open: (name, options, ref) => openDockerArchive(name, options, ref),
};
