import type { ClusterContainer, ClusterModel, ClusterPod } from '../cluster/model.js';
import { filterModel } from '../cluster/filter.js';
import { parseFieldSelector } from '../cluster/field-selector.js';
import { loadSnapshot } from '../cluster/snapshot.js';
import { loadLiveCluster } from '../cluster/live.js';
import { buildInventory, type ImageKey } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher, type MetadataMatcher } from '../inventory/metadata.js';
import { failsOn, loadEntitlements, reconcile, type Entitlement, type EntitlementResult } from '../licensing/entitlements.js';
import { loadGpuLicenseMap, type GpuLicenseMap } from '../licensing/gpu-licenses.js';
import { loadCoreFactors, type CoreFactorTable } from '../licensing/metrics.js';
import { computeUsage, type UsageOptions } from '../licensing/usage.js';
import type { LiveSourceSettings } from '../image/types.js';
import type { ProductFinding } from '../model/finding.js';
import type { Report } from '../model/report.js';
import { buildClusterReport } from '../report/cluster.js';
import { log } from '../log.js';
import { coverageOfNodes, markAgents } from './coverage.js';

export interface ScanClusterOptions {
  snapshot?: string;
  metadataOnly?: boolean;
  entitlements?: string;
  namespace?: string[];
  excludeNamespace?: string[];
  selector?: string;
  fieldSelector?: string;
  nodeSelector?: string;
  /** GPU licence map: today's `skus` list or the reference's gpu-licenses.yaml (products → metric / detection / sku-mapping). */
  gpuSkuMap?: string;
  coreFactors?: string;
  clusterId?: string;
  /** Only the pods scheduled on this node (the node agent: fieldSelector spec.nodeName); every node is still listed. */
  podsOnNode?: string;
  /** Images or containers scanned at once (default 4). */
  concurrency?: number;
  kubeconfig?: string;
  context?: string;
  failOn?: 'warning' | 'over' | 'unlicensed';
  signatures?: string;
  /** Layer cache directory; null disables the cache. */
  cacheDir: string | null;
  platform?: string;
  verify?: boolean;
  /** OpenShift core pairs: true, false or 'auto' (OpenShift nodes, or an entitlement names OpenShift). */
  openshift?: boolean | 'auto';
  openshiftAllNodes?: boolean;
  htFactor?: number;
  /** Where the live image sources are (CLI flags). */
  live?: LiveSourceSettings;
  /**
   * IBM: the reference's literal no-limit rule — any container of a pod without a CPU limit gives
   * the pod the node capacity (default: charged containers only, as IBM License Service counts).
   */
  ibmStrictNoLimit?: boolean;
  /** Fixed report time (tests, reproducible reports). */
  now?: Date;
  /** Images (and with exec, containers) done of total, for a progress line. */
  progress?: { total(n: number): void; step(label: string): void };
  /** The report's tool version. */
  version: string;
  /** A history store to read node-agent heartbeats from: the report says which nodes no agent covers. */
  agentCoverage?: string;
}

export interface ScanClusterDeps {
  /** The cluster model; default: --snapshot FILE, else the live cluster of the kubeconfig. */
  loadModel?: (opts: ScanClusterOptions) => Promise<ClusterModel>;
  /** Scans one image (once per digest); default: the image scanner over the bare reference. */
  scanImage?: (image: ImageKey) => Promise<ProductFinding[]>;
  /** Scans one running container through exec; none by default. */
  scanContainer?: (pod: ClusterPod, container: ClusterContainer) => Promise<ProductFinding[] | null>;
  /** How scanContainer reads: 'exec' (default) or 'host' (the node agent, /proc/PID/root). */
  containerMethod?: 'exec' | 'host';
  /** Products from metadata; default: the signature set's matcher plus the image-pattern list. */
  matchMetadata?: MetadataMatcher;
}

async function defaultMatcher(opts: ScanClusterOptions): Promise<MetadataMatcher> {
  const [{ loadSignatureSet }, { matchSubject }] = await Promise.all([import('../signatures/load.js'), import('../signatures/match.js')]);
  const set = await loadSignatureSet(opts.signatures);
  return combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher);
}

/** The image scanner of a cluster scan: the image pipeline over the bare reference (sweeps wrap it). */
export async function defaultScanImage(opts: ScanClusterOptions): Promise<(image: ImageKey) => Promise<ProductFinding[]>> {
  const [{ loadSignatureSet }, { scanImageRef }] = await Promise.all([import('../signatures/load.js'), import('./image.js')]);
  const set = await loadSignatureSet(opts.signatures);
  // Names are matched per container by the inventory (the reference each was started from).
  const ctx = { set, cacheDir: opts.cacheDir, platform: opts.platform, verify: opts.verify, live: opts.live, names: false };
  return async (image) => (await scanImageRef(image.image, ctx)).products;
}

/** The cluster model of a scan: --snapshot FILE, else the live cluster, filtered by the selectors. */
export async function loadClusterModel(opts: ScanClusterOptions, deps: Pick<ScanClusterDeps, 'loadModel'> = {}): Promise<ClusterModel> {
  const load =
    deps.loadModel ??
    ((o: ScanClusterOptions) =>
      o.snapshot
        ? loadSnapshot(o.snapshot)
        : loadLiveCluster({ kubeconfig: o.kubeconfig, context: o.context, namespaces: o.namespace, podSelector: o.selector, fieldSelector: o.fieldSelector, nodeSelector: o.nodeSelector, podsOnNode: o.podsOnNode }));
  const raw = await load(opts);
  // The live path already asked the API server to filter; filtering again is a no-op there and
  // makes a snapshot give exactly what the live cluster gives.
  const filtered = filterModel(raw, { namespaces: opts.namespace, excludeNamespaces: opts.excludeNamespace, podSelector: opts.selector, fieldSelector: opts.fieldSelector, nodeSelector: opts.nodeSelector });
  const model = opts.podsOnNode ? { ...filtered, pods: filtered.pods.filter((p) => p.nodeName === opts.podsOnNode) } : filtered;
  log.info({ nodes: model.nodes.length, pods: model.pods.length, source: model.source }, 'cluster model loaded');
  return model;
}

/** The options of the licence computation (the store keeps them with each sweep to measure its history alike). */
export function usageOptionsOf(opts: ScanClusterOptions, entitlements: Entitlement[] | null, gpuMap: GpuLicenseMap, coreFactors: CoreFactorTable): UsageOptions {
  const entNamesOpenShift = entitlements?.some((e) => /openshift/i.test(e.product)) ?? false;
  return {
    gpuSkuMap: gpuMap.skus,
    gpuProducts: gpuMap.products,
    gpuMapFile: opts.gpuSkuMap !== undefined,
    coreFactors,
    openshift: opts.openshift ?? (entNamesOpenShift ? true : 'auto'),
    openshiftAllNodes: opts.openshiftAllNodes,
    htFactor: opts.htFactor,
    ibmStrictNoLimit: opts.ibmStrictNoLimit,
  };
}

/**
 * The cluster scan: the cluster model (live or snapshot) → the inventory (images scanned once per
 * digest, or metadata only) → licence figures → entitlements → the report. `failed` when the
 * `failOn` status is reached; an image that cannot be scanned is an `errors` row, the rest goes on.
 * The CLI (`scan cluster`) and the server's sweeps both run it.
 */
export async function scanCluster(opts: ScanClusterOptions, deps: ScanClusterDeps = {}): Promise<{ report: Report; failed: boolean }> {
  const concurrency = opts.concurrency ?? 4;
  // Read every input file before touching the cluster: bad input fails fast with exit 2.
  if (opts.fieldSelector) parseFieldSelector(opts.fieldSelector);
  const entitlements = opts.entitlements ? await loadEntitlements(opts.entitlements) : null;
  const gpuMap = loadGpuLicenseMap(opts.gpuSkuMap);
  const coreFactors = loadCoreFactors(opts.coreFactors);

  const model = await loadClusterModel(opts, deps);

  const matchMetadata = deps.matchMetadata ?? (await defaultMatcher(opts));
  let scanImage = opts.metadataOnly ? undefined : (deps.scanImage ?? (await defaultScanImage(opts)));
  let scanContainer = opts.metadataOnly ? undefined : deps.scanContainer;
  const progress = opts.progress;
  if (progress && (scanImage || scanContainer)) {
    // The total is what there is to do: one image per digest (or name), or every running container with exec.
    const running = model.pods.filter((p) => p.phase === 'Running').flatMap((p) => p.containers.map((c) => ({ p, c })));
    progress.total(scanContainer ? running.length : new Set(running.map(({ c }) => c.imageDigest ?? c.image)).size);
    const images = scanImage;
    if (images) scanImage = async (image) => {
      try {
        return await images(image);
      } finally {
        progress.step(image.image);
      }
    };
    const containers = scanContainer;
    if (containers) scanContainer = async (pod, container) => {
      try {
        return await containers(pod, container);
      } finally {
        progress.step(`${pod.namespace}/${pod.name}/${container.name}`);
      }
    };
  }
  const inv = await buildInventory(
    model,
    { scanImage, scanContainer, containerMethod: deps.containerMethod, matchMetadata },
    { metadataOnly: opts.metadataOnly === true, concurrency },
  );

  const figures = computeUsage(inv, usageOptionsOf(opts, entitlements, gpuMap, coreFactors));

  let results: EntitlementResult[] | null = null;
  if (entitlements || opts.failOn) {
    // --fail-on without an entitlements file: nothing is owned, so every product in use is unlicensed.
    results = reconcile(entitlements ?? [], figures.usage, inv, { clusterName: opts.clusterId ?? model.clusterName });
  }
  const report = buildClusterReport(inv, figures, results, { version: opts.version, clusterId: opts.clusterId, now: opts.now });
  if (opts.agentCoverage) {
    const { openStore } = await import('../store/open.js');
    const store = await openStore(opts.agentCoverage);
    try {
      report.agentCoverage = await coverageOfNodes(store, report.cluster.id, report.nodes.map((n) => n.name), opts.now ?? new Date());
      markAgents(report.nodes, report.agentCoverage);
    } finally {
      await store.close();
    }
  }
  return { report, failed: Boolean(opts.failOn && results && failsOn(results, opts.failOn)) };
}
