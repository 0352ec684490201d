/**
 * REF parsing and source selection (CONTRACT.md): `docker-archive:PATH`, `oci-archive:PATH`,
 * `oci:DIR[:TAG|@digest]`, `docker:NAME`, `containerd:NAME`, `registry:NAME`, or a bare NAME
 * (an existing archive or layout path is sniffed; otherwise the live sources are asked in the
 * order Docker engine, containerd, registry).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput, unreachable } from '../errors.js';
import type { ImageHandle, ImageSource, OpenImageOptions } from '../image/types.js';
import { dockerArchiveSource, openDockerArchive } from './docker-archive.js';
import { ociArchiveSource, openOciArchive } from './oci-archive.js';
import { ociLayoutSource, openOciLayout } from './oci-layout.js';

/**
 * A live source loaded on first use: dockerode, gRPC and the registry client cost over a second
 * of start-up, which a scan of an archive should not pay.
 */
function lazySource(scheme: string, load: () => Promise<ImageSource>): ImageSource {
  let loaded: Promise<ImageSource> | undefined;
  const get = () => (loaded ??= load());
  return {
    scheme,
    open: async (name, options) => (await get()).open(name, options),
    has: async (name, options) => {
      const source = await get();
      return source.has ? source.has(name, options) : false;
    },
  };
}

/** Every source, offline ones first; the live ones (docker, containerd, registry) load lazily. */
export const imageSources: ImageSource[] = [
  dockerArchiveSource,
  ociArchiveSource,
  ociLayoutSource,
  lazySource('docker', async () => (await import('./docker.js')).dockerSource),
  lazySource('containerd', async () => (await import('./containerd.js')).containerdSource),
  lazySource('registry', async () => (await import('./registry.js')).registrySource),
];

/** Bare names are tried against live sources in this order. */
const BARE_ORDER = ['docker', 'containerd', 'registry'];

export const REF_FORMS =
  'docker-archive:PATH, oci-archive:PATH, oci:DIR[:TAG], docker:NAME, containerd:NAME, registry:NAME, or a bare NAME';

export interface ParsedRef {
  /** The source scheme, or undefined for a bare NAME. */
  scheme?: string;
  name: string;
}

const KNOWN = new Set(['docker-archive', 'oci-archive', 'oci', 'docker', 'containerd', 'registry']);

/**
 * Splits a REF into scheme and name. A prefix that looks like a scheme but is none is an error
 * naming the accepted forms; "host:5000/repo" and "repo:tag" are bare names.
 */
export function parseRef(ref: string): ParsedRef {
  if (!ref || !ref.trim()) throw badInput('empty image reference', `give one of ${REF_FORMS}`);
  const m = /^([a-z][a-z0-9-]*):(.*)$/s.exec(ref);
  if (m) {
    const [, scheme, rest] = m;
    if (KNOWN.has(scheme)) {
      if (!rest) throw badInput(`"${ref}" names no image after "${scheme}:"`, `give ${scheme}:${scheme.includes('archive') ? 'PATH' : scheme === 'oci' ? 'DIR' : 'NAME'}`);
      return { scheme, name: rest.startsWith('//') && scheme !== 'oci' && !scheme.includes('archive') ? rest.slice(2) : rest };
    }
    // "name:tag" or "registry.example:5000/repo" are bare names: a tag or port, not a scheme.
    const looksLikeTag = /^[\w][\w.-]{0,127}$/.test(rest) && !rest.includes('/');
    const looksLikePort = /^\d+(\/|$)/.test(rest);
    if (!looksLikeTag && !looksLikePort && (rest.startsWith('/') || rest.startsWith('.') || /^[a-z-]+$/.test(scheme))) {
      throw badInput(`unknown image reference form "${scheme}:" in "${ref}"`, `use ${REF_FORMS}`);
    }
  }
  return { name: ref };
}

function sourceFor(scheme: string): ImageSource | undefined {
  return imageSources.find((s) => s.scheme === scheme);
}

/** What an existing local path holds: a docker save tar, an OCI archive, or an OCI layout dir. */
async function sniffPath(path: string): Promise<'docker-archive' | 'oci-archive' | 'oci' | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) {
    try {
      await stat(join(path, 'oci-layout'));
      return 'oci';
    } catch {
      return undefined;
    }
  }
  if (!st.isFile()) return undefined;
  // Look at the first header names only: docker save writes manifest.json, OCI archives do not.
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1', 257, 262) !== 'ustar') return undefined;
  return 'docker-archive'; // docker-archive reads both layouts (it falls back to index.json)
}

/** Opens an image by REF. Throws KensusError: exit 2 for a bad REF, 3 when no source reaches it. */
export async function openImage(ref: string, options: OpenImageOptions = {}): Promise<ImageHandle> {
  const { scheme, name } = parseRef(ref);
  if (scheme) {
    const source = sourceFor(scheme);
    if (!source) throw unreachable(`the ${scheme}: source is not available in this build`, `use ${REF_FORMS}`);
    return source.open(name, options);
  }
  const local = await sniffPath(name);
  if (local === 'docker-archive') return openDockerArchive(name, options, ref);
  if (local === 'oci-archive') return openOciArchive(name, options, ref);
  if (local === 'oci') return openOciLayout(name, options, ref);
  if (/^[./]/.test(name) || name.endsWith('.tar')) {
    throw badInput(`${name} is not an image archive or OCI layout (or does not exist)`, `check the path, or use ${REF_FORMS}`);
  }
  const live = BARE_ORDER.map(sourceFor).filter((s): s is ImageSource => !!s?.has);
  for (const source of live) {
    if (await source.has!(name, options).catch(() => false)) return source.open(name, options);
  }
  const tried = live.map((s) => s.scheme).join(', ');
  throw unreachable(
    `no source has image "${name}"${tried ? ` (asked ${tried})` : ''}`,
    `check the name, or say where it is: ${REF_FORMS}`,
  );
}
