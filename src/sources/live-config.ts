import { badInput } from '../errors.js';
import type { LiveSourceSettings } from '../image/types.js';

/**
 * The CLI flags of the live sources in one place, named as commander names them
 * (`--containerd-address` → containerdAddress ...): the command handlers turn them into the
 * settings passed down with every image open.
 */
export interface LiveSourceOptions {
  containerdAddress?: string;
  containerdNamespace?: string;
  /** --pull-secret FILE (repeatable). */
  pullSecret?: string | string[];
  /** --insecure-registry: true for any registry, or a list of host:port. */
  insecureRegistry?: boolean | string | string[];
  /** docker config.json to take registry credentials from (default $DOCKER_CONFIG or ~/.docker). */
  dockerConfig?: string;
  /** HOST=MIRROR pairs: read registry HOST's images from MIRROR (host:port). */
  registryMirror?: string | string[];
  /** Registry request timeout in seconds. */
  registryTimeout?: string | number;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The live sources' settings from their flags; bad values are bad input (exit 2). */
export function liveSourceSettings(opts: LiveSourceOptions): LiveSourceSettings {
  const mirrors: Record<string, string> = {};
  for (const pair of list(opts.registryMirror)) {
    const [host, mirror] = pair.split('=');
    if (!host || !mirror) throw badInput(`--registry-mirror ${pair}: expected HOST=MIRROR`, 'e.g. --registry-mirror docker.io=mirror.local:5000');
    mirrors[host] = mirror;
  }
  const insecure = opts.insecureRegistry;
  const timeout = opts.registryTimeout === undefined ? undefined : Number(opts.registryTimeout);
  if (timeout !== undefined && !(timeout > 0)) throw badInput(`--registry-timeout ${opts.registryTimeout}: expected a number of seconds`);
  return {
    containerd: { address: opts.containerdAddress, namespace: opts.containerdNamespace },
    registry: {
    pullSecrets: list(opts.pullSecret),
    insecureRegistries: insecure === true ? true : typeof insecure === 'string' ? [insecure] : Array.isArray(insecure) ? insecure : [],
    ...(opts.dockerConfig ? { dockerConfig: opts.dockerConfig } : {}),
    ...(Object.keys(mirrors).length ? { mirrors } : {}),
    ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
    },
  };
}
