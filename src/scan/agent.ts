import { join } from 'node:path';
import type { ClusterModel } from '../cluster/model.js';
import { readNodeHardware, type NodeHardware } from '../cluster/hardware.js';
import { badInput } from '../errors.js';
import { log } from '../log.js';
import type { ProductFinding } from '../model/finding.js';
import { recordHeartbeat, recordNodeHardware } from '../store/agents.js';
import { openStore, type Store } from '../store/open.js';
import { containerIdOf, findContainerPids } from '../sources/host-containers.js';
import { loadLiveCluster } from '../cluster/live.js';
import type { ScanClusterDeps } from './cluster.js';
import { sweep, type SweepOptions, type SweepResult } from './sweep.js';

/**
 * `kensus agent --node NAME`: the node agent of a DaemonSet. Each round it lists its node's pods,
 * reads every running container's root filesystem from the host (/proc/PID/root through the
 * host source: no exec, no pull, nothing written into the container), reads the images of those
 * pods once per digest, and records all of it in the shared store as a sweep of that node; every
 * `hardwareIntervalMs` (the Flexera node component's 30 minutes) it also records the node's
 * hardware, and every round a heartbeat (coverage: which nodes have an agent).
 */
export interface AgentOptions extends Omit<SweepOptions, 'podsOnNode' | 'snapshot' | 'observedAt' | 'shard' | 'runId'> {
  node: string;
  /** Where the host's / is mounted ('/' when the pod shares the host's PID namespace and /sys). */
  hostRoot?: string;
  /** Time between rounds. */
  intervalMs: number;
  /** Time between hardware readings (default 30 minutes). */
  hardwareIntervalMs?: number;
  once?: boolean;
}

export const DEFAULT_HARDWARE_INTERVAL_MS = 30 * 60 * 1000;

export interface AgentRoundResult {
  node: string;
  sweep: SweepResult;
  /** Running containers of the node and how many were read from the host. */
  containers: number;
  containersRead: number;
  hardware: NodeHardware | null;
  hardwareRecorded: 'new' | 'unchanged' | null;
}

export interface AgentDeps {
  store?: Store;
  loadModel?: ScanClusterDeps['loadModel'];
  scanImage?: ScanClusterDeps['scanImage'];
  now?: () => Date;
}

/** The host source's reference of a container's root: `host:PID`, or a directory under --host-root. */
export function hostRootRef(hostRoot: string, pid: number): string {
  return hostRoot === '/' ? `host:${pid}` : `host:${join(hostRoot, 'proc', String(pid), 'root')}`;
}

/** One round of the agent: the node's containers and images into the store, hardware when due, a heartbeat. */
export async function agentRound(opts: AgentOptions, deps: AgentDeps & { hardwareDue?: boolean } = {}): Promise<AgentRoundResult> {
  const hostRoot = opts.hostRoot ?? '/';
  const store = deps.store ?? (await openStore(opts.store));
  try {
    let model: ClusterModel | null = null;
    let pids = new Map<string, number>();
    const load = deps.loadModel ?? ((o: SweepOptions) => loadLiveCluster({ kubeconfig: o.kubeconfig, context: o.context, namespaces: o.namespace, podSelector: o.selector, podsOnNode: opts.node }));
    const loadModel: ScanClusterDeps['loadModel'] = async (o) => {
      const m = await load(o);
      if (!m.nodes.some((n) => n.name === opts.node)) {
        throw badInput(`the cluster has no node '${opts.node}'`, 'give the name the API server knows: --node $(NODE_NAME) with NODE_NAME from fieldRef spec.nodeName');
      }
      model = { ...m, pods: m.pods.filter((p) => p.nodeName === opts.node) };
      const ids = model.pods.flatMap((p) => p.containers.filter((c) => !c.init && c.running).map((c) => containerIdOf(c.containerID))).filter((id): id is string => id !== null);
      pids = await findContainerPids(join(hostRoot, 'proc'), ids);
      return model;
    };

    const [{ loadSignatureSet }, { scanImageRef }] = await Promise.all([import('../signatures/load.js'), import('./image.js')]);
    const set = await loadSignatureSet(opts.signatures);
    let containers = 0;
    let read = 0;
    const scanContainer = async (pod: { namespace: string; name: string }, c: { name: string; containerID: string | null }): Promise<ProductFinding[] | null> => {
      containers++;
      const id = containerIdOf(c.containerID);
      const pid = id ? pids.get(id) : undefined;
      if (!pid) {
        // Not (or no longer) running here: the image's findings stand for it, as for a pod without exec.
        log.warn({ pod: `${pod.namespace}/${pod.name}`, container: c.name, containerID: c.containerID }, 'no process of the container on this node; using its image');
        return null;
      }
      // A live root: never cached (its layer id is new on every open).
      const report = await scanImageRef(hostRootRef(hostRoot, pid), { set, cacheDir: null });
      read++;
      return report.products;
    };

    const observedAt = (deps.now ?? (() => new Date()))();
    const result = await sweep(
      { ...opts, podsOnNode: opts.node, observedAt: observedAt.toISOString() },
      { store, loadModel, scanContainer, containerMethod: 'host', ...(deps.scanImage ? { scanImage: deps.scanImage } : {}) },
    );

    let hardware: NodeHardware | null = null;
    let hardwareRecorded: AgentRoundResult['hardwareRecorded'] = null;
    if (deps.hardwareDue !== false) {
      const node = (model as ClusterModel | null)?.nodes.find((n) => n.name === opts.node);
      hardware = await readNodeHardware(hostRoot, { labels: node?.labels ?? {}, architecture: node?.architecture ?? null });
      hardwareRecorded = await recordNodeHardware(store, result.clusterId, opts.node, hardware, observedAt);
    }
    await recordHeartbeat(store, { clusterId: result.clusterId, node: opts.node, at: observedAt, toolVersion: opts.version, containers, containersRead: read, errorCount: result.errors.length });
    log.info({ node: opts.node, containers, read, images: result.imagesScanned, reused: result.imagesReused, hardware: hardwareRecorded }, 'agent round recorded');
    return { node: opts.node, sweep: result, containers, containersRead: read, hardware, hardwareRecorded };
  } finally {
    if (!deps.store) await store.close();
  }
}

/**
 * The agent's loop: a round now, then every `intervalMs` until `signal` aborts; hardware when
 * `hardwareIntervalMs` has passed since the last reading. A failed round (API or store
 * unreachable) is logged and retried at the next round; with `once`, it is the command's error.
 */
export async function runAgent(opts: AgentOptions, deps: AgentDeps & { signal?: AbortSignal; onRound?: (r: AgentRoundResult) => void } = {}): Promise<AgentRoundResult | null> {
  const hardwareEvery = opts.hardwareIntervalMs ?? DEFAULT_HARDWARE_INTERVAL_MS;
  const now = deps.now ?? (() => new Date());
  let lastHardware = -Infinity;
  let last: AgentRoundResult | null = null;
  for (;;) {
    const started = now().getTime();
    try {
      const hardwareDue = started - lastHardware >= hardwareEvery;
      last = await agentRound(opts, { ...deps, hardwareDue });
      if (hardwareDue) lastHardware = started;
      deps.onRound?.(last);
    } catch (err) {
      if (opts.once) throw err;
      log.error({ err, node: opts.node }, 'agent round failed; retrying at the next round');
    }
    if (opts.once || deps.signal?.aborted) return last;
    const wait = Math.max(0, opts.intervalMs - (now().getTime() - started));
    const stopped = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), wait);
      deps.signal?.addEventListener('abort', () => (clearTimeout(t), resolve(true)), { once: true });
    });
    if (stopped) return last;
  }
}

