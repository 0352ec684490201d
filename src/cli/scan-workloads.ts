import { normalizePod } from '../cluster/model.js';
import { badInput, ExitCode, unreachable } from '../errors.js';
import type { Report } from '../model/report.js';
import type { ExecTarget } from '../exec/coordinator.js';
import { dockerClient } from '../exec/docker.js';
import { scanImageRef } from '../scan/image.js';
import { dockerTarget, kubeContainerScanner, podTargets, scanWorkloads, type WorkloadScanContext } from '../scan/workloads.js';
import type { CommandResult } from './command.js';
import { cacheDirOf, type CacheOptions } from './common.js';
import type { LiveSourceSettings } from '../image/types.js';
import { liveSourceSettings, type LiveSourceOptions } from '../sources/live-config.js';
import { loadSignatureSet } from '../signatures/load.js';
import { positiveNumber } from './command.js';
import { toolVersion } from './version.js';

export { dockerTarget, fallbackRefOf } from '../scan/workloads.js';

export interface WorkloadOptions extends CacheOptions, LiveSourceOptions {
  signatures?: string;
  platform?: string;
  verify?: boolean;
  /** Seconds per container (string from commander). */
  timeout?: string | number;
  concurrency?: string | number;
  /** Exec sessions at once on one node. */
  perNode?: string | number;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
  runtime?: string;
  /** Walk network filesystems (nfs, cifs, fuse) inside containers too. */
  networkFilesystems?: boolean;
}

async function context(opts: WorkloadOptions, live: LiveSourceSettings): Promise<WorkloadScanContext> {
  const timeoutMs = positiveNumber('--timeout', opts.timeout, 120) * 1000;
  const concurrency = Math.floor(positiveNumber('--concurrency', opts.concurrency, 8));
  const perNode = Math.floor(positiveNumber('--per-node', opts.perNode, 2));
  const set = await loadSignatureSet(opts.signatures);
  const ctx = { set, cacheDir: cacheDirOf(opts), platform: opts.platform, verify: opts.verify, live };
  return { set, timeoutMs, concurrency, perNode, networkFilesystems: Boolean(opts.networkFilesystems), scanImage: (ref) => scanImageRef(ref, ctx), version: toolVersion() };
}

async function finish(targets: ExecTarget[], c: WorkloadScanContext, preErrors: Report['errors'] = []): Promise<CommandResult> {
  const report = await scanWorkloads(targets, c, preErrors);
  for (const e of report.errors) process.stderr.write(`kensus: ${e.target}: ${e.message}\n`);
  // Exit 3 only when nothing at all could be scanned; partial failures are rows in `errors`.
  const exitCode = report.containers.length === 0 && report.errors.length > 0 ? ExitCode.unreachable : ExitCode.ok;
  return { report, exitCode };
}

/** `kensus scan container ID --runtime docker`. */
export async function runScanContainer(id: string, opts: WorkloadOptions): Promise<CommandResult> {
  const live = liveSourceSettings(opts);
  if (opts.runtime && opts.runtime !== 'docker') throw badInput(`unknown runtime '${opts.runtime}'`, 'use --runtime docker');
  const c = await context(opts, live);
  const target = await dockerTarget(dockerClient(live.docker), id);
  return finish([target], c);
}

/** `kensus scan pod NAME -n NS`. */
export async function runScanPod(name: string, opts: WorkloadOptions): Promise<CommandResult> {
  const live = liveSourceSettings(opts);
  const namespace = opts.namespace;
  if (!namespace) throw badInput('scan pod needs the namespace of the pod', 'add -n NAMESPACE');
  const { apiError, loadKubeConfig } = await import('../cluster/live.js');
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const kc = loadKubeConfig(opts);
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const api = kc.makeApiClient(CoreV1Api);
  let raw: unknown;
  try {
    raw = await api.readNamespacedPod({ name, namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) throw unreachable(`no pod '${name}' in namespace ${namespace}`, `list them with kubectl get pods -n ${namespace}`);
    throw apiError(err, 'get', 'pods', ` in namespace ${namespace}`, server);
  }
  const c = await context(opts, live);
  const { targets, errors } = await podTargets(kc, [normalizePod(raw)]);
  return finish(targets, c, errors);
}

/** `kensus scan namespace NS` (`-A`: every namespace). */
export async function runScanNamespace(ns: string | undefined, opts: WorkloadOptions): Promise<CommandResult> {
  const live = liveSourceSettings(opts);
  if (!ns && !opts.allNamespaces) throw badInput('scan namespace needs a namespace', 'give NS, or -A for all namespaces');
  if (ns && opts.allNamespaces) throw badInput('give either a namespace or -A, not both', 'drop NS or -A');
  const { apiError, loadKubeConfig } = await import('../cluster/live.js');
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const kc = loadKubeConfig(opts);
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const api = kc.makeApiClient(CoreV1Api);
  const items: unknown[] = [];
  try {
    let cont: string | undefined;
    do {
      const page = ns
        ? await api.listNamespacedPod({ namespace: ns, labelSelector: opts.selector, limit: 500, _continue: cont })
        : await api.listPodForAllNamespaces({ labelSelector: opts.selector, limit: 500, _continue: cont });
      items.push(...page.items);
      cont = page.metadata?._continue || undefined;
    } while (cont);
  } catch (err) {
    throw apiError(err, 'list', 'pods', ns ? ` in namespace ${ns}` : ' in all namespaces', server);
  }
  const c = await context(opts, live);
  const pods = items.map(normalizePod).filter((p) => p.phase === 'Running');
  const { targets, errors } = await podTargets(kc, pods);
  return finish(targets, c, errors);
}

/** For `scan cluster --exec`: the exec scanner over the kubeconfig's cluster (see scan/workloads.ts). */
export async function kubeExecScanner(opts: WorkloadOptions): ReturnType<typeof kubeContainerScanner> {
  const { loadKubeConfig } = await import('../cluster/live.js');
  const live = liveSourceSettings(opts);
  const kc = loadKubeConfig(opts);
  return kubeContainerScanner(kc, await context(opts, live));
}
