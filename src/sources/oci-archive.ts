/**
 * `oci-archive:PATH[:TAG]`: an OCI image layout packed in a tar (skopeo, buildx
 * `--output type=oci`). Indexed once by header walk; layers are file regions in the tar.
 */
import { badInput } from '../errors.js';
import { ArchiveStore, statFile } from '../image/blob-store.js';
import { resolveOciLayout } from '../image/oci.js';
import type { ImageHandle, ImageSource, OpenImageOptions } from '../image/types.js';
import { splitPathRef } from './docker-archive.js';

export async function openOciArchive(spec: string, options: OpenImageOptions, ref = `oci-archive:${spec}`): Promise<ImageHandle> {
  const { path, ref: tag } = await splitPathRef(spec);
  const file = await statFile(path, path);
  const store = await ArchiveStore.open(path, path);
  if (!store.has('index.json') && store.has('manifest.json')) {
    throw badInput(`${path} is a docker save archive, not an OCI archive`, `scan it as docker-archive:${path}`);
  }
  const digest = tag?.startsWith('sha256:') ? tag : undefined;
  const img = await resolveOciLayout(store, { platform: options.platform ?? 'linux/amd64', tag: digest ? undefined : tag, digest });
  return {
    ref,
    source: 'oci-archive',
    digest: img.manifestDigest,
    configDigest: img.configDigest,
    config: img.config,
    layers: img.layers,
    refs: img.refs,
    untrustedCacheScope: `${path}:${file.size}:${file.mtimeMs}`,
    close: async () => {},
  };
}

export const ociArchiveSource: ImageSource = {
  scheme: 'oci-archive',
  form: 'PATH',
  open: (name, options, ref) => openOciArchive(name, options, ref),
};
