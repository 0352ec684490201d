/**
 * REF parsing and source selection (CONTRACT.md): `docker-archive:PATH`, `oci-archive:PATH`,
 * `oci:DIR[:TAG|@digest]`, `docker:NAME`, `containerd:NAME`, `registry:NAME`, `host:PATH`, or a
 * bare NAME (an existing archive or layout path is sniffed; otherwise the live sources are asked
 * in their bare-name order: Docker engine, containerd, registry). Everything here is derived
 * from the one list of sources.
 */
import { badInput, KensusError, unreachable } from '../errors.js';
import type { ImageHandle, ImagePresence, ImageSource, OpenImageOptions } from '../image/types.js';
import { dockerArchiveSource } from './docker-archive.js';
import { ociArchiveSource } from './oci-archive.js';
import { ociLayoutSource } from './oci-layout.js';

/**
 * A live source loaded on first use: dockerode, gRPC and the registry client cost over a second
 * of start-up, which a scan of an archive should not pay. Its description is given here, so the
 * forms and order are known without loading it.
 */
function lazySource(describe: Omit<ImageSource, 'open' | 'has' | 'sniff'>, load: () => Promise<ImageSource>): ImageSource {
  let loaded: Promise<ImageSource> | undefined;
  const get = () => (loaded ??= load());
  return {
    ...describe,
    open: async (name, options, ref) => (await get()).open(name, options, ref),
    has: async (name, options): Promise<ImagePresence> => {
      const source = await get();
      return source.has ? source.has(name, options) : { found: false, reason: 'cannot look up bare names' };
    },
  };
}

/** Every source, offline ones first; the live ones (docker, containerd, registry) and host load lazily. */
export const imageSources: readonly ImageSource[] = [
  dockerArchiveSource,
  ociArchiveSource,
  ociLayoutSource,
  lazySource({ scheme: 'docker', form: 'NAME', bareNameOrder: 1 }, async () => (await import('./docker.js')).dockerSource),
  lazySource({ scheme: 'containerd', form: 'NAME', bareNameOrder: 2 }, async () => (await import('./containerd.js')).containerdSource),
  lazySource({ scheme: 'registry', form: 'NAME', bareNameOrder: 3 }, async () => (await import('./registry.js')).registrySource),
  lazySource({ scheme: 'host', form: 'PATH' }, async () => (await import('./host.js')).hostSource),
];

/** The accepted REF forms, for messages and help: "docker-archive:PATH, ..., or a bare NAME". */
export const REF_FORMS = `${imageSources.map((s) => `${s.scheme}:${s.form}${s.formSuffix ?? ''}`).join(', ')}, or a bare NAME`;

const byScheme = new Map(imageSources.map((s) => [s.scheme, s]));

/** Live sources asked for bare names, in order. */
const bareNameSources = imageSources.filter((s) => s.bareNameOrder !== undefined).sort((a, b) => a.bareNameOrder! - b.bareNameOrder!);

export interface ParsedRef {
  /** The source scheme, or undefined for a bare NAME. */
  scheme?: string;
  name: string;
}

/**
 * Splits a REF into scheme and name. A prefix that looks like a scheme but is none is an error
 * naming the accepted forms; "host:5000/repo" and "repo:tag" are bare names.
 */
export function parseRef(ref: string): ParsedRef {
  if (!ref || !ref.trim()) throw badInput('empty image reference', `give one of ${REF_FORMS}`);
  const m = /^([a-z][a-z0-9-]*):(.*)$/s.exec(ref);
  if (m) {
    const [, scheme, rest] = m;
    const source = byScheme.get(scheme);
    if (source) {
      if (!rest) throw badInput(`"${ref}" names no image after "${scheme}:"`, `give ${scheme}:${source.form}`);
      return { scheme, name: rest.startsWith('//') && source.form === 'NAME' ? rest.slice(2) : rest };
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

/** Opens an image by REF. Throws KensusError: exit 2 for a bad REF, 3 when no source reaches it. */
export async function openImage(ref: string, options: OpenImageOptions = {}): Promise<ImageHandle> {
  const { scheme, name } = parseRef(ref);
  if (scheme) return byScheme.get(scheme)!.open(name, options);
  for (const source of imageSources) {
    if (source.sniff && (await source.sniff(name))) return source.open(name, options, ref);
  }
  if (/^[./]/.test(name) || name.endsWith('.tar')) {
    throw badInput(`${name} is not an image archive or OCI layout (or does not exist)`, `check the path, or use ${REF_FORMS}`);
  }
  // Each source says why it does not have the image: "docker: socket missing; registry: 404".
  const reasons: string[] = [];
  for (const source of bareNameSources) {
    const presence = await source.has!(name, options).catch((err: unknown): ImagePresence => ({ found: false, reason: reasonOf(err) }));
    if (presence.found) return source.open(name, options, undefined);
    reasons.push(`${source.scheme}: ${presence.reason}`);
  }
  throw unreachable(`no source has image "${name}"${reasons.length ? ` (${reasons.join('; ')})` : ''}`, `check the name, or say where it is: ${REF_FORMS}`);
}

/** Why a source could not answer, in a few words. */
export function reasonOf(err: unknown): string {
  if (err instanceof KensusError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
