// Kubernetes modules are loaded only by the pod and namespace commands: @kubernetes/client-node
// takes seconds to import, and `scan container --runtime docker` does not need it.
import type { KubeConfig } from '@kubernetes/client-node';
import type Docker from 'dockerode';
import { normalizePod, type ClusterContainer, type ClusterPod } from '../cluster/model.js';
import { parseMilliCpu } from '../cluster/quantity.js';
import { badInput, unreachable } from '../model/errors.js';
import { emptyReport, type Report } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';
import { scanImageRef } from '../image/scan.js';
import { scanTargets, type ExecTarget } from '../exec/coordinator.js';
import { replicaKey } from '../exec/dedup.js';
import { dockerClient, openDockerExec } from '../exec/docker.js';
import { ttyProgress } from '../exec/progress.js';
import type { SignatureSet } from '../signatures/types.js';
import type { CommandResult } from './main.js';
import { cacheDirOf, loadSignatures, type CacheOptions } from './common.js';
import { toolVersion } from './version.js';

export interface WorkloadOptions extends CacheOptions {
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

function positive(value: string | number | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw badInput(`${flag} must be a positive number, got '${value}'`, `e.g. ${flag} ${fallback}`);
  return n;
}

interface Common {
  set: SignatureSet;
  timeoutMs: number;
  concurrency: number;
  perNode: number;
  scanImage: (ref: string) => ReturnType<typeof scanImageRef>;
}

async function common(opts: WorkloadOptions): Promise<Common> {
  const timeoutMs = positive(opts.timeout, 120, '--timeout') * 1000;
  const concurrency = Math.floor(positive(opts.concurrency, 8, '--concurrency'));
  const perNode = Math.floor(positive(opts.perNode, 2, '--per-node'));
  const set = await loadSignatures(opts.signatures);
  const ctx = { set, cacheDir: cacheDirOf(opts), platform: opts.platform, verify: opts.verify };
  return { set, timeoutMs, concurrency, perNode, scanImage: (ref) => scanImageRef(ref, ctx) };
}

async function finish(targets: ExecTarget[], c: Common, opts: WorkloadOptions, preErrors: Report['errors'] = []): Promise<CommandResult> {
  const report = emptyReport(toolVersion());
  const scan = await scanTargets(targets, {
    set: c.set,
    timeoutMs: c.timeoutMs,
    concurrency: c.concurrency,
    perNode: c.perNode,
    tracker: { networkFilesystems: Boolean(opts.networkFilesystems) },
    scanImage: c.scanImage,
    progress: ttyProgress(targets.length),
  });
  report.containers = scan.containers;
  report.errors = [...preErrors, ...scan.errors];
  for (const e of report.errors) process.stderr.write(`kensus: ${e.target}: ${e.message}\n`);
  // Exit 3 only when nothing at all could be scanned; partial failures are rows in `errors`.
  const exitCode = report.containers.length === 0 && report.errors.length > 0 ? 3 : 0;
  return { report, exitCode };
}

function envList(list: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

const digestRe = /sha256:[0-9a-f]{64}/;

/** A Docker container as an exec target (also the unit the e2e tests check footprints on). */
export async function dockerTarget(docker: Docker, id: string): Promise<ExecTarget> {
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(id).inspect();
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) throw unreachable(`no container '${id}' in the Docker engine`, 'list running containers with `docker ps`');
    throw unreachable(`cannot reach the Docker engine: ${(err as Error).message}`, 'is dockerd running? set DOCKER_HOST to its socket');
  }
  if (!info.State?.Running) {
    throw unreachable(`container ${id} is not running (${info.State?.Status ?? 'unknown state'})`, `start it, or scan its image: kensus scan image docker:${info.Image}`);
  }
  const image = await docker.getImage(info.Image).inspect().catch(() => null);
  const repoDigest = image?.RepoDigests?.[0];
  const labels = info.Config.Labels ?? {};
  const name = info.Name.replace(/^\//, '');
  return {
    label: name || info.Id.slice(0, 12),
    row: {
      id: info.Id,
      name,
      pod: labels['io.kubernetes.pod.name'] ?? null,
      namespace: labels['io.kubernetes.pod.namespace'] ?? null,
      node: null,
      image: info.Config.Image,
      imageDigest: repoDigest ? (digestRe.exec(repoDigest)?.[0] ?? null) : info.Image,
    },
    node: 'local',
    replicaKey: null,
    open: () => openDockerExec(docker, info.Id, name || info.Id.slice(0, 12)),
    fallbackRef: `docker:${info.Image}`,
    labels,
    env: envList(info.Config.Env),
    refs: [...new Set([info.Config.Image, ...(image?.RepoTags ?? []), ...(image?.RepoDigests ?? [])])],
  };
}

/** `kensus scan container ID --runtime docker`. */
export async function runScanContainer(id: string, opts: WorkloadOptions): Promise<CommandResult> {
  if (opts.runtime && opts.runtime !== 'docker') throw badInput(`unknown runtime '${opts.runtime}'`, 'use --runtime docker');
  const c = await common(opts);
  const target = await dockerTarget(dockerClient(), id);
  return finish([target], c, opts);
}

/** The image REF to scan when a pod's container cannot be exec'd into: by digest where possible. */
export function fallbackRefOf(container: ClusterContainer): string | null {
  const id = container.imageID ?? '';
  if (id.startsWith('docker://')) return `docker:${id.slice('docker://'.length)}`;
  const digest = container.imageDigest;
  if (digest) {
    const repo = container.image.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
    return repo ? `${repo}@${digest}` : digest;
  }
  return container.image || null;
}

type OpenKubeExec = typeof import('../exec/kube.js').openKubeExec;

function kubeTarget(kc: KubeConfig, openKubeExec: OpenKubeExec, pod: ClusterPod, container: ClusterContainer): ExecTarget {
  const label = `${pod.namespace}/${pod.name}/${container.name}`;
  const cpuMilli = container.cpuLimitMilli ?? parseMilliCpu(container.limits.cpu);
  return {
    label,
    row: {
      id: container.containerID ?? label,
      name: container.name,
      pod: pod.name,
      namespace: pod.namespace,
      node: pod.nodeName,
      image: container.image,
      imageDigest: container.imageDigest,
      cpuLimit: cpuMilli === null ? null : cpuMilli / 1000,
      gpus: container.gpus,
    },
    node: pod.nodeName ?? '(unscheduled)',
    replicaKey: replicaKey(pod, container),
    open: () => openKubeExec(kc, pod.namespace, pod.name, container.name),
    fallbackRef: fallbackRefOf(container),
    labels: {},
    env: container.env,
    refs: [container.image, ...(container.imageDigest ? [`${container.image.replace(/@.*$/, '').replace(/:[^/:]+$/, '')}@${container.imageDigest}`] : [])],
    annotations: pod.annotations,
  };
}

/** Running app containers of pods become targets; the others become `errors` rows. */
async function podTargets(kc: KubeConfig, pods: ClusterPod[]): Promise<{ targets: ExecTarget[]; errors: Report['errors'] }> {
  const { openKubeExec } = await import('../exec/kube.js');
  const targets: ExecTarget[] = [];
  const errors: Report['errors'] = [];
  for (const pod of pods) {
    for (const c of pod.containers) {
      if (c.init) continue;
      if (!c.running) {
        errors.push({ target: `${pod.namespace}/${pod.name}/${c.name}`, message: `the container is not running (pod phase ${pod.phase}); nothing to exec into` });
        continue;
      }
      targets.push(kubeTarget(kc, openKubeExec, pod, c));
    }
  }
  return { targets, errors };
}

/** `kensus scan pod NAME -n NS`. */
export async function runScanPod(name: string, opts: WorkloadOptions): Promise<CommandResult> {
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
  const c = await common(opts);
  const { targets, errors } = await podTargets(kc, [normalizePod(raw)]);
  return finish(targets, c, opts, errors);
}

/** `kensus scan namespace NS` (`-A`: every namespace). */
export async function runScanNamespace(ns: string | undefined, opts: WorkloadOptions): Promise<CommandResult> {
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
  const c = await common(opts);
  const pods = items.map(normalizePod).filter((p) => p.phase === 'Running');
  const { targets, errors } = await podTargets(kc, pods);
  return finish(targets, c, opts, errors);
}

/**
 * For `scan cluster --exec`: a per-container exec scanner over the kubeconfig's cluster. Returns
 * the tracker's findings, or null when the container could not be exec'd into (no shell, no
 * pods/exec permission, gone): the inventory then keeps the image scan's findings for it.
 */
export async function kubeExecScanner(opts: WorkloadOptions): Promise<(pod: ClusterPod, container: ClusterContainer) => Promise<ProductFinding[] | null>> {
  const { loadKubeConfig } = await import('../cluster/live.js');
  const { openKubeExec } = await import('../exec/kube.js');
  const kc = loadKubeConfig(opts);
  const c = await common(opts);
  return async (pod, container) => {
    const target = { ...kubeTarget(kc, openKubeExec, pod, container), replicaKey: null, fallbackRef: null };
    const scan = await scanTargets([target], {
      set: c.set,
      timeoutMs: c.timeoutMs,
      concurrency: 1,
      perNode: 1,
      tracker: { networkFilesystems: Boolean(opts.networkFilesystems) },
      // The inventory scans every image once by digest itself; no second image scan here.
      scanImage: () => Promise.reject(new Error('image fallback is done by the inventory')),
    });
    const row = scan.containers.find((r) => r.method === 'exec');
    return row ? row.products : null;
  };
}
