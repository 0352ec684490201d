import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fixture } from '../../src/fixtures/format.js';
import { writeDockerArchive } from '../../src/fixtures/image-writer.js';
import { dockerCli } from './daemons.js';
import { allowHttpRegistry, criPull, ctrImport, ensureContainerd, type TestContainerd } from './containerd.js';
import { ensureRegistry, type TestRegistry } from './registry.js';
import { parseRegistryRef } from '../../src/sources/registry.js';

/**
 * Puts signature fixtures into every live source the tests read: the test dockerd (docker
 * load), the loopback registry (docker push; the basic and bearer variants share its storage),
 * containerd with its content (ctr import into `contentNamespace`) and containerd through CRI
 * (pull into k8s.io, where discard_unpacked_layers leaves only the unpacked snapshots).
 */
export const contentNamespace = 'kensus-live';
export const criNamespace = 'k8s.io';

export interface LiveFixture {
  fixture: Fixture;
  archive: string;
  /**
   * The image's own name (the fixture's ref, e.g. nvcr.io/nvaie/x:1), the same in every source:
   * the registry variants and CRI reach its host through a mirror on the loopback registry, so
   * evidence from the image reference holds everywhere and no traffic leaves the machine.
   */
  name: string;
  /** Registry host of `name` (docker.io for Docker Hub names). */
  host: string;
  /** repo:tag on the loopback registries. */
  path: string;
}

export interface LiveEnv {
  docker: string;
  anon: TestRegistry;
  basic: TestRegistry;
  bearer: TestRegistry;
  containerd: TestContainerd;
}

export async function startLiveEnv(): Promise<LiveEnv> {
  const docker = process.env.DOCKER_HOST;
  if (!docker) throw new Error('DOCKER_HOST is not set: run the tests through vitest (test/support/global-setup.ts starts dockerd)');
  const [anon, basic, bearer, containerd] = await Promise.all([
    ensureRegistry('anon'),
    ensureRegistry('basic'),
    ensureRegistry('bearer'),
    ensureContainerd(),
  ]);
  allowHttpRegistry(containerd.certsDir, anon.host, anon.host);
  return { docker, anon, basic, bearer, containerd };
}

export function repoName(f: Fixture): string {
  return `kensus-fx/${`${f.signature}-${f.name}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}`;
}

function docker(args: string[]): string {
  return execFileSync(dockerCli(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

/** Puts one fixture into all sources under its own name. */
export async function publishFixture(env: LiveEnv, fixture: Fixture, workDir: string): Promise<LiveFixture> {
  const base = repoName(fixture).slice('kensus-fx/'.length);
  const name = (fixture.image.refs ?? []).find((r) => !r.includes('@')) ?? `${repoName(fixture)}:1`;
  const ref = parseRegistryRef(name);
  const path = `${ref.repo}:${ref.tag}`;
  const archive = join(workDir, `${base}.tar`);
  await writeDockerArchive(fixture, archive);
  const loaded = docker(['load', '-i', archive]);
  const id = /Loaded image ID: (sha256:[0-9a-f]+)/.exec(loaded)?.[1] ?? /Loaded image: (\S+)/.exec(loaded)?.[1];
  if (!id) throw new Error(`docker load of ${archive} said: ${loaded}`);
  docker(['tag', id, name]);
  const pushed = `${env.anon.host}/${path}`;
  docker(['tag', id, pushed]);
  docker(['push', pushed]);
  const saved = join(workDir, `${base}.saved.tar`);
  docker(['save', '-o', saved, name]);
  ctrImport(env.containerd.socket, contentNamespace, saved);
  allowHttpRegistry(env.containerd.certsDir, ref.host, env.anon.host);
  await criPull(env.containerd.socket, name);
  return { fixture, archive, name, host: ref.host, path };
}

/** Registry mirrors sending every fixture host to one loopback registry. */
export function mirrorsTo(list: LiveFixture[], endpoint: string): Record<string, string> {
  return Object.fromEntries(list.map((p) => [p.host, endpoint]));
}

export async function publishAll(env: LiveEnv, fixtures: Fixture[], workDir: string, concurrency = 4): Promise<LiveFixture[]> {
  mkdirSync(workDir, { recursive: true });
  const out: LiveFixture[] = new Array(fixtures.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < fixtures.length) {
        const i = next++;
        out[i] = await publishFixture(env, fixtures[i]!, workDir);
      }
    }),
  );
  return out;
}

/** A kubernetes.io/dockerconfigjson Secret (YAML) for one registry. */
export function writePullSecret(path: string, reg: TestRegistry): void {
  const json = JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64') } } });
  writeFileSync(
    path,
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${Buffer.from(json).toString('base64')}\n`,
  );
}

/** A docker config.json with `auths` for one registry. */
export function writeDockerConfig(path: string, reg: TestRegistry): void {
  writeFileSync(path, JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64') } } }));
}
