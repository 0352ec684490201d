import { Option, type Command } from 'commander';
import { badInput } from '../errors.js';
import type { AgentRoundResult } from '../scan/agent.js';
import { runCommand, type CommandResult } from './command.js';

/**
 * `kensus agent --node NAME`: the node agent (DaemonSet). Its module is loaded only when the
 * command runs; the registration below is all main.ts holds of it.
 */
export interface AgentCommandOptions {
  node?: string;
  store?: string;
  once?: boolean;
  interval: string;
  hardwareInterval: string;
  hostRoot: string;
  kubeconfig?: string;
  context?: string;
  clusterId?: string;
  signatures?: string;
  cache?: boolean;
  cacheDir?: string;
  containerdAddress?: string;
  containerdNamespace?: string;
  pullSecret?: string[];
  dockerConfig?: string;
  insecureRegistry?: boolean | string[];
  registryMirror?: string[];
  registryTimeout?: string;
  concurrency: string;
  format?: string;
  output?: string;
}

/** `30m`, `6h`, `45s` → milliseconds; anything else is bad usage. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'] : 0;
  if (!ms) throw badInput(`${flag} '${text}' is not a duration`, `use a positive number with s, m or h, e.g. ${flag} 30m`);
  return ms;
}

function renderRound(r: AgentRoundResult): string {
  const hw = r.hardware;
  const lines = [
    `agent ${r.node}: recorded cluster ${r.sweep.clusterId} as of ${r.sweep.observedAt} in ${r.sweep.store}`,
    `${r.containersRead} of ${r.containers} running container(s) read from the host; ${r.sweep.imagesScanned} image(s) read, ${r.sweep.imagesReused} already in the store`,
  ];
  if (hw) {
    lines.push(
      `hardware (${r.hardwareRecorded}): ${hw.sockets} socket(s), ${hw.cores} core(s), ${hw.threads} thread(s), ${hw.memoryBytes === null ? '?' : Math.round(hw.memoryBytes / 2 ** 20)} MiB, ${hw.cpuModel ?? 'unknown CPU'}` +
        `${hw.dmi.sysVendor ? `, ${hw.dmi.sysVendor}` : ''}${hw.dmi.productName ? ` ${hw.dmi.productName}` : ''}${hw.instanceType ? `, instance type ${hw.instanceType}` : ''}`,
    );
  }
  for (const e of r.sweep.errors) lines.push(`error: ${e.target}: ${e.message}`);
  return `${lines.join('\n')}\n`;
}

export async function runAgentCommand(opts: AgentCommandOptions, signal?: AbortSignal): Promise<CommandResult> {
  const node = opts.node ?? process.env.NODE_NAME;
  if (!node) throw badInput('kensus agent needs --node NAME', 'in a DaemonSet: --node=$(NODE_NAME) with NODE_NAME from fieldRef spec.nodeName');
  const format = opts.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw badInput(`kensus agent prints table or json, not '${format}'`, 'use --format json');
  if (!opts.hostRoot.startsWith('/')) throw badInput(`--host-root '${opts.hostRoot}' is not an absolute path`, 'e.g. --host-root /host (the host\'s / mounted read-only)');
  const intervalMs = parseDuration('--interval', opts.interval);
  const hardwareIntervalMs = parseDuration('--hardware-interval', opts.hardwareInterval);
  const [{ runAgent }, { liveSourceSettings }, { cacheDirOf }, { positiveNumber }, { toolVersion }, { writeRendered }] = await Promise.all([
    import('../scan/agent.js'),
    import('../sources/live-config.js'),
    import('./common.js'),
    import('./command.js'),
    import('./version.js'),
    import('./output.js'),
  ]);
  const render = (r: AgentRoundResult) => (format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : renderRound(r));
  const last = await runAgent(
    {
      node,
      store: opts.store,
      once: opts.once,
      intervalMs,
      hardwareIntervalMs,
      hostRoot: opts.hostRoot,
      kubeconfig: opts.kubeconfig,
      context: opts.context,
      clusterId: opts.clusterId,
      signatures: opts.signatures,
      cacheDir: cacheDirOf(opts),
      live: liveSourceSettings(opts),
      concurrency: positiveNumber('--concurrency', opts.concurrency, 2),
      version: toolVersion(),
    },
    { signal, onRound: opts.once ? undefined : (r) => process.stderr.write(renderRound(r)) },
  );
  if (opts.once && last) await writeRendered(render(last), format, opts);
  return { report: null, exitCode: 0 };
}

/** Registers `kensus agent` on the program. */
export function registerAgentCommand(program: Command, state: { code: number }): void {
  program
    .command('agent')
    .description("node agent (DaemonSet): its node's running containers read from the host (/proc/PID/root), their images once per digest, and the node's hardware, into the store")
    .option('--node <name>', 'the node this agent runs on (default $NODE_NAME)')
    .option('--store <url>', 'history store: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite:$XDG_STATE_HOME/kensus/kensus.db)')
    .option('--once', 'one round, print what was recorded, and exit')
    .option('--interval <duration>', 'time between rounds (e.g. 30m, 6h)', '30m')
    .option('--hardware-interval <duration>', 'time between hardware readings (Flexera\'s node component: 30 minutes)', '30m')
    .option('--host-root <dir>', "where the host's / is mounted (its proc and sys); '/' with hostPID", '/')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--cluster-id <id>', 'cluster identifier (default: from the kubeconfig cluster); the same on every agent and sweep of a cluster')
    .option('--signatures <dir>', 'signature directory (default: the signatures shipped with Kensus)')
    .option('--cache-dir <dir>', 'layer cache directory (default: $XDG_CACHE_HOME/kensus)')
    .option('--no-cache', 'do not read or write the layer cache')
    .option('--concurrency <n>', 'images or containers read at once', '2')
    .option('--containerd-address <socket>', 'containerd socket (default /run/containerd/containerd.sock)')
    .option('--containerd-namespace <ns>', 'containerd namespace (default k8s.io)')
    .option('--pull-secret <file...>', 'Kubernetes pull secret (dockerconfigjson) for registry images')
    .option('--docker-config <file>', 'docker config.json with registry credentials')
    .option('--insecure-registry [host...]', 'allow plain HTTP to these registries')
    .option('--registry-mirror <host=mirror...>', 'read registry HOST images from MIRROR (host:port)')
    .option('--registry-timeout <seconds>', 'registry request timeout')
    .addOption(new Option('--format <format>', 'output of --once (default: table)').choices(['table', 'json']))
    .option('-o, --output <path>', 'write the --once output to a file')
    .action(async (opts: AgentCommandOptions) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        await runCommand(state, () => runAgentCommand(opts, stop.signal), {});
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
