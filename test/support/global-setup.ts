import { spawnSync } from 'node:child_process';
import { ensureDockerd } from './daemons.js';
import { ensureContainerd } from './containerd.js';
import { ensureRegistry } from './registry.js';
import { ensurePostgres } from './postgres.js';

/** Builds dist/ (scripts/build.mjs, as `npm run build`) so the CLI tests run the real `bin/kensus.js` users run. */
function buildCli(): void {
  // --keep-going: type errors are reported by the typecheck step of `npm test`; emitted JS is still usable here.
  const result = spawnSync(process.execPath, ['scripts/build.mjs', '--keep-going'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the CLI failed: ${result.stderr || result.stdout}`);
}

/**
 * Starts the real daemons the tests use (once per run) and hands their addresses to the test
 * workers through the environment. Daemons stay up for the next run on a developer machine; the
 * state of daemons that are gone (a machine reused after its session ended) is discarded first.
 */
export default async function setup(): Promise<void> {
  buildCli();
  const docker = await ensureDockerd();
  process.env.DOCKER_HOST = docker.host;
  process.env.KENSUS_TEST_DOCKER_HOST = docker.host;
  // Started here, once, so test files running in parallel never race to start them.
  const [postgres, containerd, ...registries] = await Promise.all([ensurePostgres(), ensureContainerd(), ensureRegistry('anon'), ensureRegistry('basic'), ensureRegistry('bearer')]);
  process.env.KENSUS_TEST_CONTAINERD_SOCKET = containerd.socket;
  // The store tests create a fresh database of their own on it (test/support/postgres.ts).
  process.env.KENSUS_TEST_POSTGRES_URL = postgres.url;
  for (const r of registries) process.env[`KENSUS_TEST_REGISTRY_${r.kind.toUpperCase()}`] = r.host;
}
