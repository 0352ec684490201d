import type { ClusterContainer, ClusterModel, ClusterPod } from '../cluster/model.js';
import type { ProductFinding } from '../model/finding.js';
import type { NamespaceRow, ScanMethod, ScanErrorRow } from '../model/report.js';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import { ibmAnnotationFinding, patternMetadataMatcher, type MetadataMatcher } from './metadata.js';
import { parseIbmAnnotations } from '../cluster/ibm-annotations.js';
import { mapLimit } from '../util/concurrency.js';
import { contentFindings, mergeFindings, tagEvidence } from './merge.js';

/** The image a container runs: its digest when known (the scan key), and the reference. */
export interface ImageKey {
  digest: string | null;
  image: string;
}

export interface InventoryDeps {
  /** Scans one image; called once per digest (or per reference when no digest is known). */
  scanImage?: (image: ImageKey) => Promise<ProductFinding[]>;
  /**
   * Scans one running container in place (exec). Returns null when it cannot (no shell), and
   * the image scan is used instead.
   */
  scanContainer?: (pod: ClusterPod, container: ClusterContainer) => Promise<ProductFinding[] | null>;
  /** How scanContainer reads a container: 'exec' (the tracker, default) or 'host' (its root from the node). */
  containerMethod?: Exclude<ScanMethod, 'image'>;
  /** Products from metadata alone (image refs, labels, annotations): the signature matcher. */
  matchMetadata?: MetadataMatcher;
}

export interface InventoryOptions {
  /** No image and no container is scanned: products from the cluster model alone. */
  metadataOnly?: boolean;
  concurrency?: number;
}

/** One container of the cluster and the products in it. */
export interface ContainerEntry {
  pod: ClusterPod;
  container: ClusterContainer;
  node: string | null;
  /** The pod's phase is Running (licence metrics count only those; see src/licensing). */
  running: boolean;
  method: ScanMethod;
  products: ProductFinding[];
}

export interface ImageEntry {
  key: string;
  digest: string | null;
  ref: string;
  products: ProductFinding[];
  /** Scanned from its bytes (false: metadata only, or the scan failed). */
  scanned: boolean;
}

export interface Inventory {
  model: ClusterModel;
  containers: ContainerEntry[];
  images: ImageEntry[];
  errors: ScanErrorRow[];
  metadataOnly: boolean;
}

/**
 * The annotation finding names the IBM program of the pod; when a signature already recognised
 * the program from those annotations, that finding (with edition and version) stands for it.
 */
function withIbmAnnotation(found: ProductFinding[], ibm: ProductFinding | null): ProductFinding[] {
  if (!ibm || found.some((f) => f.vendor === 'IBM' && f.evidence.some((e) => e.kind === 'annotation'))) return found;
  return [...found, ibm];
}

/**
 * Pod annotations describe the pod, but productChargedContainers says which of its containers
 * run the program: a sidecar does not get the product from the pod's annotations.
 */
function chargedByAnnotation(pod: ClusterPod, container: ClusterContainer): boolean {
  const ann = parseIbmAnnotations(pod.annotations);
  return !ann || ann.chargedContainers === 'All' || ann.chargedContainers.includes(container.name);
}

/**
 * Pods of one ReplicaSet carry the same metadata (labels, env, image, annotations): matched once
 * and the findings shared, which a 50,000-pod cluster needs (findings are never mutated after
 * matching). The cache is bounded: a cluster of all-different pods only loses the sharing.
 */
function memoized(match: MetadataMatcher, maxEntries = 20_000): MetadataMatcher {
  const cache = new Map<string, ProductFinding[]>();
  return (subject) => {
    if (subject.files.size || subject.packages.length) return match(subject);
    const key = JSON.stringify([subject.refs, subject.labels, subject.env, subject.annotations ?? null]);
    const hit = cache.get(key);
    if (hit) return hit;
    const found = match(subject);
    if (cache.size >= maxEntries) cache.clear();
    cache.set(key, found);
    return found;
  };
}

/**
 * The names a container's products may be found by: the reference it was started from. The
 * runtime's imageID may name the digest under another of its names, so it counts only when the
 * spec names no repository (a bare digest).
 */
function startedFrom(container: ClusterContainer): string[] {
  const named = container.image && !/^(?:sha256:)?[0-9a-f]{64}$/.test(container.image);
  if (named || !container.imageID) return container.image ? [container.image] : [];
  return [container.imageID.replace(/^[a-z-]+:\/\//, '')];
}

/**
 * Joins products to the containers of the cluster model. Each image digest is scanned once
 * whatever the number of pods that run it; a failed scan becomes an `errors` row and the
 * containers of that image keep their metadata findings. IBM licensing annotations always count
 * as evidence (they are how IBM software declares itself).
 */
export async function buildInventory(
  model: ClusterModel,
  deps: InventoryDeps = {},
  opts: InventoryOptions = {},
): Promise<Inventory> {
  const matchMetadata = memoized(deps.matchMetadata ?? patternMetadataMatcher);
  const metadataOnly = opts.metadataOnly === true || (!deps.scanImage && !deps.scanContainer);
  // Fields of the cluster model that could not be believed come first (issue 19).
  const errors: ScanErrorRow[] = [...model.problems];
  const slots: Array<{ pod: ClusterPod; container: ClusterContainer }> = [];
  for (const pod of model.pods) for (const c of pod.containers) if (!c.init) slots.push({ pod, container: c });

  // One scan per image key.
  const images = new Map<string, ImageEntry>();
  for (const { container } of slots) {
    const key = container.imageDigest ?? container.image;
    if (!images.has(key)) images.set(key, { key, digest: container.imageDigest, ref: container.image, products: [], scanned: false });
  }
  if (!metadataOnly && deps.scanImage) {
    const scan = deps.scanImage;
    // An image known only by reference whose containers never started (Pending: not pulled, or
    // not pullable) is on no node; it counts for no metric, so it is not fetched from a registry.
    const started = new Set(slots.filter((s) => s.container.imageDigest || s.pod.phase === 'Running').map((s) => s.container.imageDigest ?? s.container.image));
    const toScan = [...images.values()].filter((img) => img.digest || started.has(img.key));
    await mapLimit(toScan, opts.concurrency ?? 4, async (img) => {
      try {
        // What the digest's content shows; its names' findings go to the containers started from them.
        img.products = contentFindings(await scan({ digest: img.digest, image: img.ref }));
        img.scanned = true;
      } catch (err) {
        log.debug({ image: img.ref, err }, 'image scan failed');
        errors.push({ target: img.ref, message: describeError(err) });
      }
    });
  }

  const containers: ContainerEntry[] = [];
  // What each container's metadata showed (its name, env, labels), for the rows of its image.
  const metaOf = new Map<ClusterContainer, ProductFinding[]>();
  await mapLimit(slots, opts.concurrency ?? 4, async ({ pod, container }) => {
    const img = images.get(container.imageDigest ?? container.image)!;
    const refs = startedFrom(container);
    const meta = matchMetadata({
      files: new Map(),
      packages: [],
      labels: pod.labels,
      env: container.env,
      refs,
      annotations: pod.annotations,
    });
    metaOf.set(container, meta.filter((f) => !f.evidence.every((e) => e.kind === 'annotation')));
    const ibm = ibmAnnotationFinding(pod.annotations);
    let method: ScanMethod = 'image';
    const fromImage = tagEvidence(img.products, 'image');
    let found = fromImage;
    if (!metadataOnly && deps.scanContainer && pod.phase === 'Running' && container.running) {
      try {
        const viaExec = await deps.scanContainer(pod, container);
        if (viaExec) {
          // Exec first: it sees the running container (volumes); the image adds what exec cannot see (labels).
          found = mergeFindings(tagEvidence(viaExec, deps.containerMethod ?? 'exec'), fromImage);
          method = deps.containerMethod ?? 'exec';
        }
      } catch (err) {
        errors.push({ target: `${pod.namespace}/${pod.name}/${container.name}`, message: describeError(err) });
      }
    }
    const charged = chargedByAnnotation(pod, container);
    containers.push({
      pod,
      container,
      node: pod.nodeName,
      running: pod.phase === 'Running',
      method,
      products: withIbmAnnotation(
        mergeFindings(found, tagEvidence(charged ? meta : meta.filter((f) => !f.evidence.every((e) => e.kind === 'annotation')), 'metadata')),
        charged && ibm ? tagEvidence([ibm], 'metadata')[0] : null,
      ),
    });
  });
  const order = new Map(slots.map((s, i) => [s.container, i]));
  containers.sort((a, b) => order.get(a.container)! - order.get(b.container)!);
  // An image row is its digest as the containers started from its own reference see it: what its
  // content shows, and what that reference's metadata shows (another name of the digest may name
  // another product, which is not this row's).
  const byImage = new Map<string, ProductFinding[][]>();
  for (const c of containers) {
    const key = c.container.imageDigest ?? c.container.image;
    if (c.container.image !== images.get(key)?.ref) continue;
    const lists = byImage.get(key) ?? [];
    lists.push(metaOf.get(c.container) ?? []);
    byImage.set(key, lists);
  }
  for (const img of images.values()) img.products = mergeFindings(img.products, ...(byImage.get(img.key) ?? []));
  return { model, containers, images: [...images.values()], errors, metadataOnly };
}

/** Per-namespace roll-up: pods, containers, running pods and the products with their container counts. */
export type NamespaceRollup = NamespaceRow;

export function namespaceRollups(inv: Inventory): NamespaceRollup[] {
  const byNs = new Map<string, { pods: Set<string>; running: Set<string>; containers: number; gpus: number; products: Map<string, { id: string; product: string; containers: number; runningContainers: number }> }>();
  for (const pod of inv.model.pods) {
    const ns = byNs.get(pod.namespace) ?? { pods: new Set(), running: new Set(), containers: 0, gpus: 0, products: new Map() };
    ns.pods.add(pod.name);
    if (pod.phase === 'Running') ns.running.add(pod.name);
    byNs.set(pod.namespace, ns);
  }
  for (const c of inv.containers) {
    const ns = byNs.get(c.pod.namespace)!;
    ns.containers++;
    if (c.running) ns.gpus += c.container.gpus;
    for (const p of c.products) {
      const row = ns.products.get(p.id) ?? { id: p.id, product: p.product, containers: 0, runningContainers: 0 };
      row.containers++;
      if (c.running) row.runningContainers++;
      ns.products.set(p.id, row);
    }
  }
  return [...byNs.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([namespace, v]) => ({
      namespace,
      pods: v.pods.size,
      runningPods: v.running.size,
      containers: v.containers,
      gpus: v.gpus,
      products: [...v.products.values()].sort((a, b) => a.id.localeCompare(b.id)),
    }));
}
