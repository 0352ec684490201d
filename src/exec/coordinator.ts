import type { InstalledPackage, ScanSubject } from '../model/entry.js';
import { describeError } from '../errors.js';
import type { ProductFinding } from '../model/finding.js';
import type { ContainerReport, ImageReport, ScanErrorRow, ScanMethod } from '../model/report.js';
import { log } from '../log.js';
import { extractPackages } from '../packages/index.js';
import type { SignatureSet } from '../signatures/types.js';
import { matchSubject } from '../signatures/match.js';
import { ExecError, type ExecChannel } from './channel.js';
import type { TrackerResult } from './collect.js';
import { groupReplicas } from './dedup.js';
import { Limiter } from '../util/concurrency.js';
import type { ScanProgress } from './progress.js';
import { runTracker } from './run.js';
import type { TrackerOptions } from './script.js';

/** One running container to scan, whatever runtime reaches it. */
export interface ExecTarget {
  /** For messages and `errors` rows: namespace/pod/container, or the container id. */
  label: string;
  /** The report row without method and products. */
  row: Omit<ContainerReport, 'method' | 'products'>;
  /** Per-node concurrency key. */
  node: string;
  /** Replicas with the same key are scanned once (see dedup.ts); null: on its own. */
  replicaKey: string | null;
  open(): Promise<ExecChannel>;
  /** The image to scan when exec is impossible (no shell, forbidden): a REF by digest or id. */
  fallbackRef: string | null;
  /** What the tracker cannot see: image labels, the spec's env, references, pod annotations. */
  labels: Record<string, string>;
  env: Record<string, string>;
  refs: string[];
  annotations?: Record<string, string>;
}

export interface CoordinatorOptions {
  set: SignatureSet;
  timeoutMs: number;
  concurrency: number;
  perNode: number;
  tracker?: Partial<TrackerOptions>;
  scanImage(ref: string): Promise<ImageReport>;
  progress?: ScanProgress;
}

export interface WorkloadScan {
  containers: ContainerReport[];
  errors: ScanErrorRow[];
  /** Exec sessions actually run (replicas share one). */
  execSessions: number;
}

async function subjectOf(result: TrackerResult, target: ExecTarget): Promise<ScanSubject> {
  const packages: InstalledPackage[] = await extractPackages(result.files);
  const seen = new Set(packages.map((p) => `${p.manager}\0${p.name}`));
  for (const p of result.rpmPackages) if (!seen.has(`rpm\0${p.name}`)) packages.push(p);
  return {
    files: result.files,
    packages,
    labels: target.labels,
    // PID 1's real environment wins over the spec (it holds what the entrypoint exported too).
    env: { ...target.env, ...result.env },
    refs: target.refs,
    ...(target.annotations ? { annotations: target.annotations } : {}),
  };
}

interface Outcome {
  method: ScanMethod | null;
  products: ProductFinding[];
  errors: string[];
}

/**
 * Scans running containers through the tracker: global and per-node concurrency, a time limit
 * per container, replicas scanned once and fanned out, and the fallbacks of issue 6 — no shell or
 * no exec permission: the image by digest (`method: "image"`); a container that exits or times
 * out: an `errors` row, and the others go on.
 */
export async function scanTargets(targets: ExecTarget[], options: CoordinatorOptions): Promise<WorkloadScan> {
  const limiter = new Limiter(options.concurrency, options.perNode);
  const groups = groupReplicas(targets, (t) => t.replicaKey);
  const outcomes = new Map<ExecTarget, Outcome>();
  let execSessions = 0;

  const scanGroup = async (group: ExecTarget[]): Promise<void> => {
    const leader = group[0];
    const outcome: Outcome = { method: null, products: [], errors: [] };
    options.progress?.start(leader.label);
    try {
      const result = await limiter.run(leader.node, async () => {
        execSessions++;
        const channel = await leader.open();
        return runTracker(channel, options.set.plan, {
          timeoutMs: options.timeoutMs,
          tracker: options.tracker,
          target: leader.label,
          onProgress: (dirs, candidates) => options.progress?.update(leader.label, dirs, candidates),
        });
      });
      outcome.products = matchSubject(options.set, await subjectOf(result, leader));
      outcome.method = 'exec';
      if (result.budgetHit) {
        outcome.errors.push(`partial scan: the tracker's ${result.budgetHit} budget ran out after ${result.stats.dirs} directories; products found so far are reported`);
      }
      if (result.denied.length) log.info({ target: leader.label, denied: result.denied.slice(0, 20) }, 'the tracker could not read some paths');
    } catch (err) {
      const reason = err instanceof ExecError ? err.reason : 'failed';
      if ((reason === 'no-shell' || reason === 'forbidden') && leader.fallbackRef) {
        if (reason === 'forbidden') outcome.errors.push(`${describeError(err)}; scanned its image instead`);
        else log.info({ target: leader.label, ref: leader.fallbackRef }, 'no shell in the container: scanning its image');
        try {
          const image = await options.scanImage(leader.fallbackRef);
          outcome.products = image.products;
          outcome.method = 'image';
        } catch (imgErr) {
          outcome.errors.push(`${describeError(err)}; the image scan of ${leader.fallbackRef} failed too: ${describeError(imgErr)}`);
        }
      } else {
        outcome.errors.push(describeError(err));
      }
    }
    options.progress?.finish(leader.label, outcome.method ?? 'error');
    for (const member of group) outcomes.set(member, outcome);
  };

  await Promise.all(groups.map(scanGroup));
  options.progress?.close();

  const containers: ContainerReport[] = [];
  const errors: ScanErrorRow[] = [];
  for (const t of targets) {
    const o = outcomes.get(t)!;
    if (o.method) containers.push({ ...t.row, method: o.method, products: o.products });
    for (const message of o.errors) errors.push({ target: t.label, message });
  }
  return { containers, errors, execSessions };
}
