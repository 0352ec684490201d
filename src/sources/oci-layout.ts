/**
 * `oci:DIR[:TAG|@sha256:...]`: an OCI image layout directory. Blobs are files; each layer is a
 * whole-file region the walker can seek in when it is uncompressed.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput } from '../errors.js';
import { DirStore, fileError } from '../image/blob-store.js';
import { resolveOciLayout } from '../image/oci.js';
import type { ImageHandle, ImageSource, OpenImageOptions } from '../image/types.js';

/** Splits "DIR[:TAG|@digest]"; an existing directory named with a colon wins over a tag. */
export async function splitDirRef(spec: string): Promise<{ dir: string; tag?: string; digest?: string }> {
  const at = spec.lastIndexOf('@sha256:');
  if (at > 0) return { dir: spec.slice(0, at), digest: spec.slice(at + 1) };
  if (await isDir(spec)) return { dir: spec };
  const colon = spec.lastIndexOf(':');
  if (colon > 0 && !spec.slice(colon + 1).includes('/')) return { dir: spec.slice(0, colon), tag: spec.slice(colon + 1) };
  return { dir: spec };
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function openOciLayout(spec: string, options: OpenImageOptions, ref = `oci:${spec}`): Promise<ImageHandle> {
  const { dir, tag, digest } = await splitDirRef(spec);
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    throw fileError(err, dir);
  }
  if (!st.isDirectory()) {
    throw badInput(`${dir} is a file, not an OCI layout directory`, `for a tar use oci-archive:${dir} or docker-archive:${dir}`);
  }
  const store = new DirStore(dir, dir);
  const img = await resolveOciLayout(store, { platform: options.platform ?? 'linux/amd64', tag, digest });
  return {
    ref,
    source: 'oci',
    digest: img.manifestDigest,
    configDigest: img.configDigest,
    config: img.config,
    layers: img.layers,
    refs: img.refs,
    // Blobs are named by digest, but nothing checked a skip-read layer: scope by the manifest.
    untrustedCacheScope: `${dir}:${img.manifestDigest}`,
    close: async () => {},
  };
}

export const ociLayoutSource: ImageSource = {
  scheme: 'oci',
  form: 'DIR',
  formSuffix: '[:TAG]',
  sniff: async (path) => Boolean((await stat(path).catch(() => undefined))?.isDirectory() && (await stat(join(path, 'oci-layout')).catch(() => undefined))),
  open: (name, options, ref) => openOciLayout(name, options, ref),
};
