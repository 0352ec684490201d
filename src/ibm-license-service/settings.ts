import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { badInput } from '../errors.js';
import type { LicenseServiceEndpoint } from './client.js';

/**
 * The settings of the IBM License Service integration, named as the Flexera agent's KRM
 * attributes name them (flexera-krm-agent-attributes.de.txt, "Integration des
 * IBM-Lizenzservice": spec.ibmLicensing.enable, namespace, serviceName, servicePort, token,
 * https, tlsVerify). `url` is the Lightweight agent's form (--ibm-licensing-url): it stands for
 * namespace, serviceName, servicePort and https at once.
 */
export interface IbmLicenseServiceSettings {
  /** Default false: Kensus does not talk to the License Service. */
  enable: boolean;
  namespace?: string;
  serviceName?: string;
  servicePort?: number;
  token?: string;
  https?: boolean;
  /** Default false: the operator's certificate is self-signed. */
  tlsVerify: boolean;
  url?: string;
}

export const defaultSettings: IbmLicenseServiceSettings = { enable: false, tlsVerify: false };

/** The values discovery can find; enable and tlsVerify are never discovered. */
export type DiscoverableKey = 'namespace' | 'serviceName' | 'servicePort' | 'token' | 'https';

/**
 * Which values are missing. "Es muss der gesamte Satz an Werten zur Verfügung gestellt
 * werden. Ist der Satz nicht vollständig, versucht der … Agent die fehlenden Werte zu
 * ermitteln": any missing value means discovery (of the missing ones only).
 */
export function missingValues(s: IbmLicenseServiceSettings): DiscoverableKey[] {
  const out: DiscoverableKey[] = [];
  if (!s.url) {
    if (!s.namespace) out.push('namespace');
    if (!s.serviceName) out.push('serviceName');
    if (s.servicePort === undefined) out.push('servicePort');
    if (s.https === undefined) out.push('https');
  }
  if (!s.token) out.push('token');
  return out;
}

/** The service's in-cluster URL, as the operator names it (http(s)://NAME.NAMESPACE.svc:PORT). */
export function serviceUrl(https: boolean, serviceName: string, namespace: string, port: number): string {
  return `${https ? 'https' : 'http'}://${serviceName}.${namespace}.svc:${port}`;
}

/** The endpoint when every value is given (no cluster access needed at all), else null. */
export function endpointFromSettings(s: IbmLicenseServiceSettings): LicenseServiceEndpoint | null {
  if (missingValues(s).length) return null;
  const url = s.url ?? serviceUrl(s.https!, s.serviceName!, s.namespace!, s.servicePort!);
  return { url, token: s.token!, tlsVerify: s.tlsVerify };
}

const MAX_CONFIG_BYTES = 1 << 20;
const MAX_TOKEN_BYTES = 64 << 10;

/** Reads the Kensus config file (YAML or JSON). */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > MAX_CONFIG_BYTES) throw badInput(`config file ${path} is larger than 1 MiB`, 'give the Kensus settings file, not a data file');
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode) throw err;
    throw badInput(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the path given to --config');
  }
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw badInput(`config file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the file');
  }
}

/** A secret value from a file: trailing newlines trimmed, size bounded, never empty. */
export async function readSecretFile(path: string, what: string, flag: string): Promise<string> {
  let buf: Buffer;
  try {
    const st = await stat(path);
    if (st.size > MAX_TOKEN_BYTES) throw badInput(`${what} file ${path} is larger than 64 KiB`, `${flag} takes a file holding only the token`);
    buf = await readFile(path);
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode) throw err;
    throw badInput(`cannot read ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, `check the path given to ${flag}`);
  }
  const token = buf.toString('utf8').replace(/[\r\n]+$/, '').trim();
  if (!token) throw badInput(`${what} file ${path} is empty`, `${flag} takes a file holding the token`);
  if (/[\s\0]/.test(token)) throw badInput(`${what} file ${path} holds more than one word`, `${flag} takes a file holding only the token`);
  return token;
}

/**
 * The `ibmLicensing` section of a config document: top-level `ibmLicensing:`, or
 * `spec.ibmLicensing` so a Flexera KRM resource works as it is. Unknown keys are errors (a typo
 * would otherwise silently turn on discovery).
 */
export async function settingsFromConfig(doc: unknown, where: string): Promise<Partial<IbmLicenseServiceSettings>> {
  const root = (doc ?? {}) as Record<string, any>;
  const section = root.ibmLicensing ?? root.spec?.ibmLicensing;
  if (section === undefined || section === null) return {};
  if (typeof section !== 'object' || Array.isArray(section)) throw badInput(`${where}: ibmLicensing must be a mapping`, 'see the README section on the IBM License Service');
  const known = ['enable', 'namespace', 'serviceName', 'servicePort', 'token', 'tokenFile', 'https', 'tlsVerify', 'url'];
  for (const k of Object.keys(section)) {
    if (!known.includes(k)) throw badInput(`${where}: unknown setting ibmLicensing.${k}`, `known settings: ${known.join(', ')}`);
  }
  const out: Partial<IbmLicenseServiceSettings> = {};
  const bool = (k: 'enable' | 'https' | 'tlsVerify') => {
    if (section[k] === undefined) return;
    if (typeof section[k] !== 'boolean') throw badInput(`${where}: ibmLicensing.${k} must be true or false`, `found ${JSON.stringify(section[k])}`);
    out[k] = section[k];
  };
  const text = (k: 'namespace' | 'serviceName' | 'token' | 'url') => {
    if (section[k] === undefined || section[k] === null || section[k] === '') return;
    if (typeof section[k] !== 'string' || section[k].length > 4096) throw badInput(`${where}: ibmLicensing.${k} must be a string`, `found ${typeof section[k]}`);
    out[k] = section[k];
  };
  bool('enable');
  bool('https');
  bool('tlsVerify');
  text('namespace');
  text('serviceName');
  text('token');
  text('url');
  if (section.servicePort !== undefined) out.servicePort = checkPort(section.servicePort, `${where}: ibmLicensing.servicePort`);
  if (section.tokenFile !== undefined) {
    if (typeof section.tokenFile !== 'string') throw badInput(`${where}: ibmLicensing.tokenFile must be a path`, '');
    out.token = await readSecretFile(section.tokenFile, 'License Service token', 'ibmLicensing.tokenFile');
  }
  if (out.url) checkUrl(out.url, `${where}: ibmLicensing.url`);
  if (out.namespace) checkDnsLabel(out.namespace, `${where}: ibmLicensing.namespace`);
  if (out.serviceName) checkDnsLabel(out.serviceName, `${where}: ibmLicensing.serviceName`);
  return out;
}

export function checkPort(v: unknown, what: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw badInput(`${what} must be a TCP port (1–65535)`, `found ${JSON.stringify(v)}`);
  return n;
}

export function checkUrl(v: string, what: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw badInput(`${what} is not a URL: ${v}`, 'e.g. https://ibm-licensing-service-instance.ibm-licensing.svc:8080');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badInput(`${what} must be http(s): ${v}`, 'e.g. https://ibm-licensing-service-instance.ibm-licensing.svc:8080');
  if (u.username || u.password || u.search) throw badInput(`${what} must not carry credentials or a query`, 'give the token with the token setting or --token-file');
  return v;
}

function checkDnsLabel(v: string, what: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) throw badInput(`${what} is not a Kubernetes name: ${v}`, 'lower-case letters, digits and -');
}

/** Later layers win (flags over the config file over the defaults); undefined never overrides. */
export function mergeSettings(...layers: Partial<IbmLicenseServiceSettings>[]): IbmLicenseServiceSettings {
  const out: IbmLicenseServiceSettings = { ...defaultSettings };
  for (const l of layers) for (const [k, v] of Object.entries(l)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}

/** Command-line values (the CLI's flags; the serve flags --ibm-license-service-*). */
export interface IbmLicenseServiceFlags {
  enable?: boolean;
  url?: string;
  tokenFile?: string;
  namespace?: string;
  serviceName?: string;
  servicePort?: string | number;
  https?: boolean;
  tlsVerify?: boolean;
}

/** Defaults, then the config file's section, then the flags. */
export async function resolveIbmLicenseServiceSettings(flags: IbmLicenseServiceFlags, configDoc: unknown, where: string): Promise<IbmLicenseServiceSettings> {
  const file = await settingsFromConfig(configDoc, where);
  const fromFlags: Partial<IbmLicenseServiceSettings> = {
    enable: flags.enable,
    url: flags.url ? checkUrl(flags.url, '--url') : undefined,
    token: flags.tokenFile ? await readSecretFile(flags.tokenFile, 'License Service token', '--token-file') : undefined,
    namespace: flags.namespace,
    serviceName: flags.serviceName,
    servicePort: flags.servicePort === undefined ? undefined : checkPort(flags.servicePort, '--service-port'),
    https: flags.https,
    tlsVerify: flags.tlsVerify,
  };
  return mergeSettings(file, fromFlags);
}
