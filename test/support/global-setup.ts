import { ensureDockerd } from './daemons.js';

/**
 * Starts the real daemons the tests use (once per run) and hands their addresses to the test
 * workers through the environment. Daemons stay up for the next run on a developer machine;
 * CI machines are fresh anyway.
 */
export default async function setup(): Promise<void> {
  const docker = await ensureDockerd();
  process.env.DOCKER_HOST = docker.host;
  process.env.KENSUS_TEST_DOCKER_HOST = docker.host;
}
