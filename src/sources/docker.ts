import { accessSync, constants, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import tar from 'tar-stream';
import type { DockerSettings, ImageHandle, ImagePresence, ImageSource, LayerHandle, OpenImageOptions } from '../image/types.js';
import { badInput, KensusError, unreachable } from '../errors.js';
import { log } from '../log.js';
import { absent, parseImageConfig } from './live-common.js';

/**
 * `docker:NAME` — the Docker engine API through dockerode (DOCKER_HOST or the default socket).
 * Metadata comes from image inspect (config, diff IDs); the bytes from one `docker save` stream
 * (GET /images/ID/get), read once as it arrives: no temp file. docker 20.10 writes the save tar
 * in directory order, not layer order, so layers are walked as they come and matched to the
 * config's diff IDs by their hash (each layer.tar is uncompressed: its sha256 is its diff ID),
 * which also checks every layer. The engine offers no per-layer read; a node-local read of
 * the overlay2 directories would avoid the tar, but needs root on the engine's host.
 */
const DEFAULT_TIMEOUT_MS = 30_000;

function engineAddress(settings: Partial<DockerSettings>): string {
  return settings.host ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/**
 * The one Docker client (image source and exec): the engine at the given address or $DOCKER_HOST;
 * a unix socket is checked first for a clear message. Requests time out after 30 s unless told.
 */
export function dockerClient(given: Partial<DockerSettings> = {}): Docker {
  const settings: DockerSettings = { timeoutMs: DEFAULT_TIMEOUT_MS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  const addr = engineAddress(settings);
  // dockerode takes no timeout as none.
  const timeout = settings.timeoutMs > 0 ? settings.timeoutMs : undefined;
  if (addr.startsWith('unix://') || addr.startsWith('/')) {
    const socketPath = addr.replace(/^unix:\/\//, '');
    try {
      statSync(socketPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') throw unreachable(`permission denied on Docker socket ${socketPath}`, 'run as root or as a member of the docker group');
      throw unreachable(`Docker socket ${socketPath} does not exist`, 'is the Docker engine running? set DOCKER_HOST to its address');
    }
    try {
      accessSync(socketPath, constants.R_OK | constants.W_OK);
    } catch {
      throw unreachable(`permission denied on Docker socket ${socketPath}`, 'run as root or as a member of the docker group');
    }
    return new Docker({ socketPath, timeout });
  }
  const u = new URL(addr.replace(/^tcp:/, 'http:'));
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost' && u.hostname !== '::1') log.info({ host: u.host }, 'using a remote Docker engine');
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: 'http', timeout });
}

function engineError(err: unknown, what: string, address: string): KensusError {
  if (err instanceof KensusError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string; json?: { message?: string } };
  const detail = e.json?.message ?? e.message ?? String(err);
  if (e.code === 'EACCES') return unreachable(`permission denied on the Docker engine at ${address}`, 'run as root or as a member of the docker group');
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return unreachable(`the Docker engine at ${address} is not reachable (${e.code})`, 'is the Docker engine running? set DOCKER_HOST to its address');
  return unreachable(`Docker engine: ${what} failed: ${detail}`);
}

interface Inspect {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Os?: string;
  Architecture?: string;
  Variant?: string;
  Created?: string;
  Config?: { Labels?: Record<string, string> | null; Env?: string[] | null };
  RootFS?: { Layers?: string[] };
}

async function inspect(docker: Docker, name: string, address: string): Promise<Inspect> {
  try {
    return (await docker.getImage(name).inspect()) as unknown as Inspect;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) {
      throw unreachable(`image ${name} is not in the Docker engine at ${address}`, `list the images with 'docker images'; pull or load it first`);
    }
    throw engineError(err, `inspect of ${name}`, address);
  }
}

const LAYER_MEDIA_TYPE = 'application/vnd.docker.image.rootfs.diff.tar';

export const dockerSource: ImageSource = {
  scheme: 'docker',
  form: 'NAME',
  bareNameOrder: 1,

  async open(name: string, options: OpenImageOptions): Promise<ImageHandle> {
    const address = engineAddress(options.live?.docker ?? {});
    if (!name) throw badInput('docker: image name is empty', 'write docker:NAME, e.g. docker:busybox:latest');
    const docker = dockerClient(options.live?.docker);
    const info = await inspect(docker, name, address);
    const config = parseImageConfig({
      os: info.Os,
      architecture: info.Architecture,
      variant: info.Variant,
      created: info.Created,
      config: { Labels: info.Config?.Labels ?? {}, Env: info.Config?.Env ?? [] },
      rootfs: { diff_ids: info.RootFS?.Layers ?? [] },
    });
    const repoDigest = (info.RepoDigests ?? [])[0];
    const digest = repoDigest?.includes('@') ? repoDigest.slice(repoDigest.indexOf('@') + 1) : info.Id;
    let used = false;
    const handle: ImageHandle = {
      ref: `docker:${name}`,
      source: 'docker',
      digest,
      configDigest: info.Id,
      config,
      layers: [],
      refs: [...(info.RepoTags ?? []), ...(info.RepoDigests ?? [])],
      untrustedCacheScope: `docker:${address}:${info.Id}`,
      close: async () => {},
      async readOnce(walk) {
        if (used) throw unreachable(`docker:${name} was already read`);
        used = true;
        const want = new Set(config.diffIds);
        let stream: NodeJS.ReadableStream;
        try {
          stream = await docker.getImage(info.Id).get();
        } catch (err) {
          throw engineError(err, `save of ${name}`, address);
        }
        const extract = tar.extract();
        const walked = new Map<string, string>();
        (stream as Readable).on('error', (err) => extract.destroy(engineError(err, `save stream of ${name}`, address)));
        stream.pipe(extract as unknown as NodeJS.WritableStream);
        try {
          for await (const entry of extract as unknown as AsyncIterable<Readable & { header: { name: string; type: string } }>) {
            const h = entry.header;
            const member = h.name.replace(/^\.?\/+/, '');
            const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(member);
            // Legacy save: <v1 id>/layer.tar; docker >= 25 (OCI layout): blobs/sha256/<diff id>.
            const isLayer = h.type === 'file' && (member.endsWith('/layer.tar') || (blob && want.has(`sha256:${blob[1]}`)));
            if (!isLayer) {
              entry.resume();
              await new Promise<void>((r) => (entry.readableEnded ? r() : entry.once('end', () => r())));
              continue;
            }
            const got = await walk(member, Readable.from(entry), 'none');
            walked.set(got.storedDigest, member);
          }
        } catch (err) {
          (stream as Readable).destroy?.();
          if (err instanceof KensusError) throw err;
          throw unreachable(`docker:${name}: the save stream broke off: ${(err as Error).message}`, 'is the Docker engine healthy? try again');
        }
        handle.layers = config.diffIds.map((diffId, i): LayerHandle => {
          const member = walked.get(diffId);
          if (!member) throw unreachable(`docker:${name}: the engine's save stream has no layer with diff ID ${diffId} (layer ${i + 1})`, 'the image may have changed while it was read; try again');
          return {
            digest: diffId,
            diffId,
            digestOf: 'uncompressed',
            mediaType: LAYER_MEDIA_TYPE,
            compression: 'none',
            bytes: { kind: 'read-once', member },
          };
        });
        log.debug({ image: name, layers: handle.layers.length }, 'docker image read from the save stream');
      },
    };
    return handle;
  },

  async has(name: string, options: OpenImageOptions): Promise<ImagePresence> {
    try {
      await inspect(dockerClient(options.live?.docker), name, engineAddress(options.live?.docker ?? {}));
      return { found: true };
    } catch (err) {
      return absent(err);
    }
  },
};
