import { resolve } from 'node:path';
import { Command } from 'commander';
import { ensureDockerd } from '../support/daemons.js';
import Docker from 'dockerode';
import { startTestCluster, type TestCluster } from './server.js';

/**
 * `npm run test-cluster -- --kubeconfig FILE [--fixture FILE] [--port N]`: the test cluster for
 * trying Kensus and kubectl by hand. Starts the test dockerd if needed, writes the kubeconfig,
 * runs until Ctrl-C and removes its containers on the way out.
 */
const program = new Command()
  .name('test-cluster')
  .description('Kubernetes API test server backed by Docker containers')
  .option('--kubeconfig <file>', 'where to write the kubeconfig', 'kensus-test.kubeconfig')
  .option('--fixture <file>', 'YAML fixture (nodes, namespaces, objects); default: the built-in cluster')
  .option('--port <n>', 'port on 127.0.0.1 (default: any free port)', (v) => Number(v))
  .parse();

const opts = program.opts<{ kubeconfig: string; fixture?: string; port?: number }>();
const started = Date.now();
let cluster: TestCluster | undefined;
let stopping = false;
// Installed before start so a Ctrl-C during start-up still removes what was created.
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  if (!cluster) return; // still starting: stopped as soon as the start completes
  await cluster.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

const daemon = await ensureDockerd();
cluster = await startTestCluster({
  docker: new Docker({ socketPath: daemon.socket }),
  kubeconfigPath: resolve(opts.kubeconfig),
  fixture: opts.fixture ? resolve(opts.fixture) : undefined,
  port: opts.port,
});
if (stopping) {
  await cluster.stop();
  process.exit(0);
}
process.stderr.write(
  `test cluster ready at ${cluster.url} in ${Date.now() - started} ms\n` +
    `  kubeconfig: ${cluster.kubeconfigPath} (contexts: ${cluster.contexts.join(', ')})\n` +
    `  try: kubectl --kubeconfig ${cluster.kubeconfigPath} get nodes\n` +
    `  docker: DOCKER_HOST=${daemon.host}\n` +
    `  Ctrl-C stops it and removes its containers.\n`,
);
