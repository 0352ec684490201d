import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { badInput } from '../errors.js';
import { log } from '../log.js';

/**
 * Where registry credentials come from: a Kubernetes pull secret file (--pull-secret), the
 * docker config.json (`auths` with base64 `auth` or an `identitytoken`; `credHelpers` and
 * `credsStore` through the `docker-credential-<name>` helper binaries). Secrets never reach the
 * logs: only their origin ("pull secret /x", "docker config ~/.docker/config.json") is named.
 */
export interface Credential {
  /** Where it came from, for messages: never contains the secret. */
  origin: string;
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker config `identitytoken`, helper Username `<token>`). */
  identityToken?: string;
  /** A ready Bearer token for the registry (docker config `registrytoken`). */
  registryToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The host part of an `auths` key: scheme, path and the Docker Hub aliases normalised. */
export function normaliseRegistryHost(key: string): string {
  let h = key.trim().replace(/^[a-z]+:\/\//i, '');
  h = h.split('/')[0]!.toLowerCase();
  if (h === 'index.docker.io' || h === 'registry-1.docker.io' || h === 'docker.io') return 'docker.io';
  return h;
}

function entryCredential(entry: AuthEntry, origin: string): Credential | undefined {
  if (entry.identitytoken) return { origin, identityToken: entry.identitytoken };
  if (entry.registrytoken) return { origin, registryToken: entry.registrytoken };
  if (entry.username && entry.password) return { origin, username: entry.username, password: entry.password };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { origin, username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  return undefined;
}

function lookupAuths(cfg: DockerConfig, host: string, origin: string): Credential | undefined {
  for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
    if (normaliseRegistryHost(key) === host && entry) {
      const c = entryCredential(entry, origin);
      if (c) return c;
    }
  }
  return undefined;
}

/** Parses a pull secret file: a kubernetes.io/dockerconfigjson (or dockercfg) Secret in YAML or JSON, or the raw .dockerconfigjson. */
export function parsePullSecret(text: string, file: string): DockerConfig {
  let doc: any;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw badInput(`pull secret ${file} is neither YAML nor JSON: ${(err as Error).message.split('\n')[0]}`, 'give a kubernetes.io/dockerconfigjson Secret (kubectl get secret NAME -o yaml) or a docker config.json');
  }
  if (!doc || typeof doc !== 'object') throw badInput(`pull secret ${file} is empty or not an object`, 'give a kubernetes.io/dockerconfigjson Secret or a docker config.json');
  if (doc.auths && typeof doc.auths === 'object') return doc as DockerConfig;
  if (doc.kind === 'Secret' || doc.data || doc.stringData) {
    const data = (doc.data ?? {}) as Record<string, string>;
    const stringData = (doc.stringData ?? {}) as Record<string, string>;
    const decode = (k: string) => (stringData[k] ?? (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : undefined));
    const json = decode('.dockerconfigjson');
    if (json) {
      try {
        const cfg = JSON.parse(json) as DockerConfig;
        if (cfg.auths) return cfg;
      } catch {
        /* reported below */
      }
      throw badInput(`pull secret ${file}: .dockerconfigjson is not a docker config JSON with "auths"`, 'recreate it with kubectl create secret docker-registry');
    }
    const legacy = decode('.dockercfg');
    if (legacy) {
      try {
        return { auths: JSON.parse(legacy) as Record<string, AuthEntry> };
      } catch {
        throw badInput(`pull secret ${file}: .dockercfg is not JSON`, 'recreate it with kubectl create secret docker-registry');
      }
    }
    throw badInput(`pull secret ${file} has no .dockerconfigjson or .dockercfg key (type ${doc.type ?? 'unset'})`, 'a pull secret is of type kubernetes.io/dockerconfigjson');
  }
  // A bare legacy .dockercfg: { "host": { "auth": ... } }
  const values = Object.values(doc);
  if (values.length && values.every((v) => v && typeof v === 'object' && ('auth' in (v as object) || 'username' in (v as object)))) {
    return { auths: doc as Record<string, AuthEntry> };
  }
  throw badInput(`pull secret ${file} is not a pull secret: no "auths" and no Secret data`, 'give a kubernetes.io/dockerconfigjson Secret (kubectl get secret NAME -o yaml) or a docker config.json');
}

export function readPullSecret(file: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw badInput(`cannot read pull secret ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the --pull-secret path');
  }
  return parsePullSecret(text, file);
}

/** docker's own lookup: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

export function readDockerConfig(path = dockerConfigPath()): DockerConfig | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DockerConfig;
  } catch (err) {
    // A broken docker config must not stop a scan that may need no credentials at all.
    log.warn({ path, error: (err as Error).message }, 'docker config is not valid JSON; ignored');
    return undefined;
  }
}

function helperOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, `docker-credential-${name}`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Runs `docker-credential-<name> get` with the server on stdin, as docker does. */
export async function runCredentialHelper(name: string, host: string, origin: string): Promise<Credential | undefined> {
  const bin = helperOnPath(name);
  if (!bin) {
    log.debug({ helper: name }, 'credential helper not on PATH; skipped');
    return undefined;
  }
  const tryServer = (server: string) =>
    new Promise<Credential | undefined>((resolve) => {
      const child = execFile(bin, ['get'], { timeout: 10_000, maxBuffer: 1 << 20 }, (err, stdout) => {
        if (err) return resolve(undefined); // "credentials not found" exits non-zero
        try {
          const out = JSON.parse(stdout) as { Username?: string; Secret?: string };
          if (!out.Secret) return resolve(undefined);
          if (out.Username === '<token>') return resolve({ origin, identityToken: out.Secret });
          resolve({ origin, username: out.Username, password: out.Secret });
        } catch {
          resolve(undefined);
        }
      });
      child.stdin?.end(server);
    });
  const servers = host === 'docker.io' ? ['https://index.docker.io/v1/', 'docker.io'] : [host, `https://${host}`];
  for (const s of servers) {
    const c = await tryServer(s);
    if (c) return c;
  }
  return undefined;
}

export interface CredentialSettings {
  /** --pull-secret files, tried first. */
  pullSecrets?: string[];
  /** docker config.json path; default $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  dockerConfig?: string;
}

/**
 * Every credential that applies to a registry host, in the order they are tried:
 * pull secrets, docker config `auths`, `credHelpers[host]`, `credsStore`.
 */
export async function credentialsFor(host: string, settings: CredentialSettings = {}): Promise<Credential[]> {
  const key = normaliseRegistryHost(host);
  const out: Credential[] = [];
  for (const file of settings.pullSecrets ?? []) {
    const c = lookupAuths(readPullSecret(file), key, `pull secret ${file}`);
    if (c) out.push(c);
  }
  const path = settings.dockerConfig ?? dockerConfigPath();
  const cfg = readDockerConfig(path);
  if (cfg) {
    const c = lookupAuths(cfg, key, `docker config ${path}`);
    if (c) out.push(c);
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => normaliseRegistryHost(k) === key)?.[1];
    if (helper) {
      const h = await runCredentialHelper(helper, key, `credential helper docker-credential-${helper}`);
      if (h) out.push(h);
    }
    if (cfg.credsStore && cfg.credsStore !== helper) {
      const s = await runCredentialHelper(cfg.credsStore, key, `credential store docker-credential-${cfg.credsStore}`);
      if (s) out.push(s);
    }
  }
  return out;
}
