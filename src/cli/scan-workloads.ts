import { matchesFields, parseFieldSelector } from '../cluster/field-selector.js';
import { normalizePod } from '../cluster/model.js';
import { badInput, ExitCode, unreachable } from '../errors.js';
import type { Report } from '../model/report.js';
import type { ExecTarget } from '../exec/coordinator.js';
import { dockerClient } from '../exec/docker.js';
import { readImageConfig, scanImageRef } from '../scan/image.js';
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
  fieldSelector?: string;
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
  return {
    set,
    timeoutMs,
    concurrency,
    perNode,
    networkFilesystems: Boolean(opts.networkFilesystems),
    scanImage: (ref) => scanImageRef(ref, ctx),
    imageLabels: async (ref) => (await readImageConfig(ref, ctx)).labels,
    version: toolVersion(),
  };
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

/** `kensus scan pod NAME [-n NS]` (default: the namespace of the kubeconfig context, as kubectl). */
export async function runScanPod(name: string, opts: WorkloadOptions): Promise<CommandResult> {
  const live = liveSourceSettings(opts);
  const { apiError, loadKubeConfig } = await import('../cluster/live.js');
  const { contextNamespace } = await import('../cluster/kubeconfig.js');
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const kc = loadKubeConfig(opts);
  const namespace = opts.namespace ?? contextNamespace(kc);
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const api = kc.makeApiClient(CoreV1Api);
  let raw: unknown;
  try {
    raw = await api.readNamespacedPod({ name, namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) throw unreachable(`no pod '${name}' in namespace ${namespace}`, `list them with kubectl get pods -n ${namespace}`);
    throw apiError(err, 'get', 'pods', ` in namespace ${namespace}`, server, 'scan pod needs get pods and create pods/exec');
  }
  const c = await context(opts, live);
  const { targets, errors } = await podTargets(kc, [normalizePod(raw)]);
  return finish(targets, c, errors);
}

/** `kensus scan namespace [NS]` (`-n NS` the same; neither: the context's namespace; `-A`: every namespace). */
export async function runScanNamespace(arg: string | undefined, opts: WorkloadOptions): Promise<CommandResult> {
  const live = liveSourceSettings(opts);
  if (arg && opts.namespace && arg !== opts.namespace) throw badInput(`namespace '${arg}' and -n ${opts.namespace} disagree`, 'give the namespace once');
  if ((arg || opts.namespace) && opts.allNamespaces) throw badInput('give either a namespace or -A, not both', 'drop NS or -A');
  const fields = opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : [];
  const { apiError, loadKubeConfig, namespaceMissing, namespaceNotFound } = await import('../cluster/live.js');
  const { contextNamespace } = await import('../cluster/kubeconfig.js');
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const kc = loadKubeConfig(opts);
  const ns = opts.allNamespaces ? undefined : (arg ?? opts.namespace ?? contextNamespace(kc));
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const api = kc.makeApiClient(CoreV1Api);
  const items: unknown[] = [];
  try {
    let cont: string | undefined;
    do {
      const q = { labelSelector: opts.selector, fieldSelector: opts.fieldSelector, limit: 500, _continue: cont };
      const page = ns ? await api.listNamespacedPod({ namespace: ns, ...q }) : await api.listPodForAllNamespaces(q);
      items.push(...page.items);
      cont = page.metadata?._continue || undefined;
    } while (cont);
  } catch (err) {
    throw apiError(err, 'list', 'pods', ns ? ` in namespace ${ns}` : ' in all namespaces', server, 'scan namespace needs list pods, and create pods/exec to run the tracker');
  }
  if (ns && items.length === 0 && (await namespaceMissing(api, ns))) throw namespaceNotFound(ns, kc.getCurrentContext());
  const c = await context(opts, live);
  // The API server applied the field selector already; applying it here too keeps one meaning.
  const pods = items.map((item) => normalizePod(item)).filter((p) => p.phase === 'Running' && matchesFields(p, fields));
  // kubectl's words for an empty answer, on stderr: the report itself stays a valid (empty) document.
  if (pods.length === 0) process.stderr.write(`kensus: no running pods found ${ns ? `in ${ns} namespace` : 'in any namespace'}\n`);
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
