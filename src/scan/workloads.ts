/**
 * Workload scans: running containers as exec targets (Docker engine, Kubernetes pods/exec), the
 * image each falls back to, and the coordinator run over them. The CLI lists the containers or
 * pods and calls these.
 */
// Kubernetes modules are loaded only for pods: @kubernetes/client-node takes seconds to import,
// and `scan container --runtime docker` does not need it.
import type { KubeConfig } from '@kubernetes/client-node';
import type Docker from 'dockerode';
import type { ClusterContainer, ClusterPod } from '../cluster/model.js';
import { repository, withDigest } from '../model/image-name.js';
import { emptyReport, type Report } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';
import { scanTargets, type ExecTarget } from '../exec/coordinator.js';
import { replicaKey } from '../exec/dedup.js';
import { openDockerExec } from '../exec/docker.js';
import { ttyProgress } from '../exec/progress.js';
import type { SignatureSet } from '../signatures/types.js';
import type { ImageReport } from '../model/report.js';
import { describeError, unreachable } from '../errors.js';
import { tagEvidence } from '../inventory/merge.js';
import { log } from '../log.js';

/** What a workload scan needs, parsed from the flags by the caller. */
export interface WorkloadScanContext {
  set: SignatureSet;
  timeoutMs: number;
  concurrency: number;
  /** Exec sessions at once on one node. */
  perNode: number;
  /** Walk network filesystems (nfs, cifs, fuse) inside containers too. */
  networkFilesystems: boolean;
  /** The image scan a container falls back to when it cannot be exec'd into. */
  scanImage: (ref: string) => Promise<ImageReport>;
  /** The report's tool version. */
  version: string;
  /**
   * The labels of an image's config (no layer read): given to exec scans, which cannot see them
   * from inside the container, so exec and image scans of one digest agree (versions from labels).
   */
  imageLabels?: (ref: string) => Promise<Record<string, string>>;
}

/** Scans the targets (errors of targets that could not be made come first as `preErrors`). */
export async function scanWorkloads(targets: ExecTarget[], c: WorkloadScanContext, preErrors: Report['errors'] = []): Promise<Report> {
  const report = emptyReport(c.version);
  if (c.imageLabels) await withImageLabels(targets, c.imageLabels, c.concurrency);
  const scan = await scanTargets(targets, {
    set: c.set,
    timeoutMs: c.timeoutMs,
    concurrency: c.concurrency,
    perNode: c.perNode,
    tracker: { networkFilesystems: c.networkFilesystems },
    scanImage: c.scanImage,
    progress: ttyProgress(targets.length),
  });
  report.containers = scan.containers.map((row) => ({ ...row, products: tagEvidence(row.products, row.method) }));
  report.errors = [...preErrors, ...scan.errors];
  return report;
}

/**
 * Targets that know no labels (Kubernetes pods: the API does not show image labels) get those of
 * their image's config, read once per image; an image that cannot be read leaves them without.
 */
async function withImageLabels(targets: ExecTarget[], imageLabels: (ref: string) => Promise<Record<string, string>>, limit: number): Promise<void> {
  const wanting = targets.filter((t) => t.fallbackRef && Object.keys(t.labels).length === 0);
  const refs = [...new Set(wanting.map((t) => t.fallbackRef!))];
  const labels = new Map<string, Record<string, string>>();
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const ref = refs[next++];
      try {
        labels.set(ref, await imageLabels(ref));
      } catch (err) {
        log.info({ ref, err: describeError(err) }, 'image config not readable: exec findings without image labels');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, refs.length)) }, worker));
  for (const t of wanting) t.labels = labels.get(t.fallbackRef!) ?? {};
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

/** The image REF to scan when a pod's container cannot be exec'd into: by digest where possible. */
export function fallbackRefOf(container: ClusterContainer): string | null {
  const id = container.imageID ?? '';
  if (id.startsWith('docker://')) return `docker:${id.slice('docker://'.length)}`;
  const digest = container.imageDigest;
  if (digest) {
    const repo = repository(container.image);
    return repo ? `${repo}@${digest}` : digest;
  }
  return container.image || null;
}

type OpenKubeExec = typeof import('../exec/kube.js').openKubeExec;

export function kubeTarget(kc: KubeConfig, openKubeExec: OpenKubeExec, pod: ClusterPod, container: ClusterContainer): ExecTarget {
  const label = `${pod.namespace}/${pod.name}/${container.name}`;
  // Checked when the pod was read: an unbelievable limit is null here, not re-read.
  const cpuMilli = container.cpuLimitMilli;
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
    refs: [container.image, ...(container.imageDigest ? [withDigest(container.image, container.imageDigest)] : [])],
    annotations: pod.annotations,
  };
}

/** Running app containers of pods become targets; the others become `errors` rows. */
export async function podTargets(kc: KubeConfig, pods: ClusterPod[]): Promise<{ targets: ExecTarget[]; errors: Report['errors'] }> {
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

/**
 * For `scan cluster --exec`: a per-container exec scanner over the kubeconfig's cluster. Returns
 * the tracker's findings, or null when the container could not be exec'd into (no shell, no
 * pods/exec permission, gone): the inventory then keeps the image scan's findings for it.
 */
export async function kubeContainerScanner(kc: KubeConfig, c: WorkloadScanContext): Promise<(pod: ClusterPod, container: ClusterContainer) => Promise<ProductFinding[] | null>> {
  const { openKubeExec } = await import('../exec/kube.js');
  return async (pod, container) => {
    const target = { ...kubeTarget(kc, openKubeExec, pod, container), replicaKey: null, fallbackRef: null };
    const scan = await scanTargets([target], {
      set: c.set,
      timeoutMs: c.timeoutMs,
      concurrency: 1,
      perNode: 1,
      tracker: { networkFilesystems: c.networkFilesystems },
      // The inventory scans every image once by digest itself; no second image scan here.
      scanImage: () => Promise.reject(new Error('image fallback is done by the inventory')),
    });
    const row = scan.containers.find((r) => r.method === 'exec');
    return row ? row.products : null;
  };
}
