import { badInput } from '../errors.js';

/**
 * Where inventory goes: an inventory beacon's upload location (the Flexera agent's BEACON_URL,
 * with BEACON_TOKEN from the Secret flexera-beacon-creds in flexera-kubernetes-license-management.txt),
 * and what a failed upload means (`mustUpload`, flexera-krm-agent-attributes.de.txt "Hochladen
 * vom Knoten gescheitert": default false — keep running and retry later; true — fail).
 */
export interface BeaconSettings {
  /** The upload location; PUT sends each file to URL/NAME, POST sends it to URL. */
  url: string;
  /** Sent as `Authorization: Bearer TOKEN` when set. */
  token?: string;
  method: 'PUT' | 'POST';
  mustUpload: boolean;
  /** Files wait here until the beacon has them (a 2xx); survives restarts on a persistent volume. */
  spoolDir: string;
  /** PEM CA bundle to trust for an HTTPS beacon (besides the system's). */
  ca?: string;
}

export function checkBeaconUrl(v: string, what: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw badInput(`${what} is not a URL: ${v}`, 'e.g. https://beacon.example.com/ManageSoftRL/Inventories');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badInput(`${what} must be http(s): ${v}`, 'e.g. https://beacon.example.com/ManageSoftRL/Inventories');
  if (u.username || u.password) throw badInput(`${what} must not carry credentials`, 'give the token with --beacon-token-file');
  return v;
}

export function checkMethod(v: unknown, what: string): 'PUT' | 'POST' {
  const m = typeof v === 'string' ? v.toUpperCase() : v;
  if (m !== 'PUT' && m !== 'POST') throw badInput(`${what} must be PUT or POST`, `found ${JSON.stringify(v)}`);
  return m;
}

/**
 * The `beacon` section of a config document (and `spec.node.mustUpload` of a KRM resource).
 * Returns only what is set; the token file is read by the caller.
 */
export function beaconSettingsFromConfig(doc: unknown, where: string): { url?: string; tokenFile?: string; method?: 'PUT' | 'POST'; mustUpload?: boolean; spoolDir?: string; caFile?: string } {
  const root = (doc ?? {}) as Record<string, any>;
  const section = root.beacon ?? root.spec?.beacon ?? {};
  if (typeof section !== 'object' || Array.isArray(section)) throw badInput(`${where}: beacon must be a mapping`, 'see the README section on beacon upload');
  const known = ['url', 'tokenFile', 'method', 'mustUpload', 'spoolDir', 'caFile'];
  for (const k of Object.keys(section)) if (!known.includes(k)) throw badInput(`${where}: unknown setting beacon.${k}`, `known settings: ${known.join(', ')}`);
  const out: ReturnType<typeof beaconSettingsFromConfig> = {};
  for (const k of ['url', 'tokenFile', 'spoolDir', 'caFile'] as const) {
    if (section[k] === undefined) continue;
    if (typeof section[k] !== 'string' || !section[k]) throw badInput(`${where}: beacon.${k} must be a string`, `found ${JSON.stringify(section[k])}`);
    out[k] = section[k];
  }
  if (out.url) checkBeaconUrl(out.url, `${where}: beacon.url`);
  if (section.method !== undefined) out.method = checkMethod(section.method, `${where}: beacon.method`);
  const must = section.mustUpload ?? root.spec?.node?.mustUpload;
  if (must !== undefined) {
    if (typeof must !== 'boolean') throw badInput(`${where}: mustUpload must be true or false`, `found ${JSON.stringify(must)}`);
    out.mustUpload = must;
  }
  return out;
}

export interface BeaconFlags {
  beaconUrl?: string;
  beaconTokenFile?: string;
  beaconMethod?: string;
  beaconSpoolDir?: string;
  beaconCaFile?: string;
  mustUpload?: boolean;
}

/**
 * The beacon settings from flags, then the config file, then the environment the Flexera
 * manifests use (BEACON_URL, BEACON_TOKEN); null when no beacon is configured.
 * `readSecret` reads the token file (bounded, trimmed).
 */
export async function resolveBeaconSettings(
  flags: BeaconFlags,
  configDoc: unknown,
  where: string,
  defaultSpoolDir: string,
  readSecret: (path: string, what: string, flag: string) => Promise<string>,
  readCa: (path: string) => Promise<string>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BeaconSettings | null> {
  const file = beaconSettingsFromConfig(configDoc, where);
  const url = flags.beaconUrl ?? file.url ?? env.BEACON_URL;
  if (!url) {
    if (flags.beaconTokenFile || flags.beaconMethod || flags.mustUpload) throw badInput('beacon settings without a beacon URL', 'give --beacon-url URL (the beacon upload location)');
    return null;
  }
  checkBeaconUrl(url, flags.beaconUrl ? '--beacon-url' : file.url ? `${where}: beacon.url` : 'BEACON_URL');
  const tokenFile = flags.beaconTokenFile ?? file.tokenFile;
  const token = tokenFile ? await readSecret(tokenFile, 'beacon token', flags.beaconTokenFile ? '--beacon-token-file' : 'beacon.tokenFile') : env.BEACON_TOKEN?.trim() || undefined;
  const caFile = flags.beaconCaFile ?? file.caFile;
  return {
    url,
    token,
    method: flags.beaconMethod ? checkMethod(flags.beaconMethod, '--beacon-method') : (file.method ?? 'PUT'),
    mustUpload: flags.mustUpload ?? file.mustUpload ?? false,
    spoolDir: flags.beaconSpoolDir ?? file.spoolDir ?? defaultSpoolDir,
    ca: caFile ? await readCa(caFile) : undefined,
  };
}
