import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonsRoot, requireBinary, waitFor, pidAlive } from './daemons.js';

/**
 * Debian's docker-registry for the tests, bound to 127.0.0.1, in three variants sharing one
 * storage directory (push once, read through each): anonymous, htpasswd basic auth, and Bearer
 * token auth against the small token server of test/support/token-server.ts. Started detached
 * and reused across runs, like dockerd in daemons.ts.
 */
export type RegistryKind = 'anon' | 'basic' | 'bearer';

export interface TestRegistry {
  kind: RegistryKind;
  /** host:port */
  host: string;
  url: string;
  user?: string;
  password?: string;
}

export const registryUser = 'kensus';
export const registryPassword = 'kensus-test-pw';
const here = dirname(fileURLToPath(import.meta.url));
const root = join(daemonsRoot, 'registry');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}


async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

function startDetached(cmd: string, args: string[], dir: string, name: string): number {
  const logFd = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', logFd, logFd] });
  child.unref();
  writeFileSync(join(dir, `${name}.pid`), String(child.pid));
  return child.pid!;
}

/** The token server's key and self-signed certificate (the registry's root bundle). */
function ensureTokenKeys(dir: string): { key: string; cert: string } {
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.crt');
  if (!existsSync(cert)) {
    const openssl = requireBinary('openssl', 'openssl');
    execFileSync(openssl, [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '3650', '-subj', '/CN=kensus-test-token-issuer',
    ], { stdio: 'ignore' });
  }
  return { key, cert };
}

async function ensureTokenServer(dir: string, cert: { key: string; cert: string }): Promise<string> {
  const portFile = join(dir, 'token.port');
  if (pidAlive(join(dir, 'token.pid')) && existsSync(portFile)) {
    const url = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
    if (await answers(`${url}/healthz`)) return url;
  }
  const port = await freePort();
  writeFileSync(portFile, String(port));
  startDetached(
    process.execPath,
    ['--import', 'tsx', join(here, 'token-server.ts'), String(port), cert.key, cert.cert, registryUser, registryPassword],
    dir,
    'token',
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`token server on ${url} (log: ${join(dir, 'token.log')})`, () => answers(`${url}/healthz`), 30_000);
  return url;
}

function authSection(kind: RegistryKind, dir: string, tokenUrl?: string, cert?: string): string {
  if (kind === 'basic') {
    return `auth:\n  htpasswd:\n    realm: kensus-basic\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  if (kind === 'bearer') {
    return (
      `auth:\n  token:\n    realm: ${tokenUrl}/token\n    service: kensus-test-registry\n` +
      `    issuer: kensus-test-issuer\n    rootcertbundle: ${cert}\n`
    );
  }
  return '';
}

/** Starts (or reuses) one registry variant. */
export async function ensureRegistry(kind: RegistryKind): Promise<TestRegistry> {
  const registry = requireBinary('docker-registry', 'docker-registry');
  const dir = join(root, kind);
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, 'storage'), { recursive: true });
  const creds = kind === 'anon' ? {} : { user: registryUser, password: registryPassword };
  const portFile = join(dir, 'port');
  if (pidAlive(join(dir, 'registry.pid')) && existsSync(portFile)) {
    const host = `127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
    if (await answers(`http://${host}/v2/`)) return { kind, host, url: `http://${host}`, ...creds };
  }
  let tokenUrl: string | undefined;
  let cert: string | undefined;
  if (kind === 'basic') {
    const htpasswd = requireBinary('htpasswd', 'apache2-utils');
    execFileSync(htpasswd, ['-Bbc', join(dir, 'htpasswd'), registryUser, registryPassword], { stdio: 'ignore' });
  }
  if (kind === 'bearer') {
    const keys = ensureTokenKeys(dir);
    cert = keys.cert;
    tokenUrl = await ensureTokenServer(dir, keys);
  }
  const port = await freePort();
  writeFileSync(portFile, String(port));
  const config =
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(root, 'storage')}\n` +
    `  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n` +
    `http:\n  addr: 127.0.0.1:${port}\n` +
    authSection(kind, dir, tokenUrl, cert);
  writeFileSync(join(dir, 'config.yml'), config);
  startDetached(registry, ['serve', join(dir, 'config.yml')], dir, 'registry');
  const host = `127.0.0.1:${port}`;
  await waitFor(`docker-registry (${kind}) on ${host} (log: ${join(dir, 'registry.log')})`, () => answers(`http://${host}/v2/`), 30_000);
  return { kind, host, url: `http://${host}`, ...creds };
}

/** Reads the registries global-setup started, from the environment. */
export function testRegistry(kind: RegistryKind): TestRegistry {
  const host = process.env[`KENSUS_TEST_REGISTRY_${kind.toUpperCase()}`];
  if (!host) throw new Error(`KENSUS_TEST_REGISTRY_${kind.toUpperCase()} is not set: run the tests through vitest (test/support/global-setup.ts starts the registries)`);
  const creds = kind === 'anon' ? {} : { user: registryUser, password: registryPassword };
  return { kind, host, url: `http://${host}`, ...creds };
}
