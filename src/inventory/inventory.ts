import type { ClusterContainer, ClusterModel, ClusterPod } from '../cluster/model.js';
import type { EvidenceMethod, ProductFinding } from '../model/finding.js';
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
 * matching). The cluster model shares equal label, env and annotation maps (cluster/model.ts
 * interns them), so the key is made of their identities, not of their text: a JSON key per
 * container was most of the garbage of a 50,000-pod scan. Maps the model did not share get ids
 * of their own and only lose the sharing. The cache is bounded: a cluster of all-different pods
 * only loses the sharing.
 */
function memoized(match: MetadataMatcher, maxEntries = 20_000): MetadataMatcher {
  const cache = new Map<string, ProductFinding[]>();
  const ids = new WeakMap<object, number>();
  let next = 0;
  const idOf = (o: object | undefined): number => {
    if (!o) return -1;
    let id = ids.get(o);
    if (id === undefined) ids.set(o, (id = next++));
    return id;
  };
  return (subject) => {
    if (subject.files.size || subject.packages.length) return match(subject);
    const key = `${idOf(subject.labels)},${idOf(subject.env)},${idOf(subject.annotations)},${subject.refs.join('\n')}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const found = match(subject);
    if (cache.size >= maxEntries) cache.clear();
    cache.set(key, found);
    return found;
  };
}

/** `fn` computed once per argument object (the argument is never mutated after it is made). */
function once1<A extends object, R>(fn: (a: A) => R): (a: A) => R {
  const done = new WeakMap<A, R>();
  return (a) => {
    if (done.has(a)) return done.get(a)!;
    const r = fn(a);
    done.set(a, r);
    return r;
  };
}

/** `fn` computed once per argument object and key. */
function once2<A extends object, K, R>(fn: (a: A, k: K) => R): (a: A, k: K) => R {
  const done = new WeakMap<A, Map<K, R>>();
  return (a, k) => {
    let byKey = done.get(a);
    if (!byKey) done.set(a, (byKey = new Map()));
    if (byKey.has(k)) return byKey.get(k)!;
    const r = fn(a, k);
    byKey.set(k, r);
    return r;
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

  const containers: ContainerEntry[] = new Array(slots.length);
  // What each container's metadata showed (its name, env, labels), for the rows of its image.
  const metaOf = new Map<ClusterContainer, ProductFinding[]>();
  // Shared findings (memoized metadata, an image's scan) are tagged and filtered once per list,
  // not once per container: tens of thousands of replicas share a handful of lists.
  const tag = once2((list: ProductFinding[], method: EvidenceMethod) => tagEvidence(list, method));
  const withoutAnnotations = once1((list: ProductFinding[]) => list.filter((f) => !f.evidence.every((e) => e.kind === 'annotation')));
  const ibmOf = once1((annotations: Record<string, string>) => {
    const ibm = ibmAnnotationFinding(annotations);
    return ibm ? tagEvidence([ibm], 'metadata')[0] : null;
  });
  /** The container's row, from what its image (or exec) showed and what its metadata shows. */
  const entry = ({ pod, container }: (typeof slots)[number], i: number, found: ProductFinding[], method: ScanMethod): void => {
    const meta = matchMetadata({
      files: new Map(),
      packages: [],
      labels: pod.labels,
      env: container.env,
      refs: startedFrom(container),
      annotations: pod.annotations,
    });
    metaOf.set(container, withoutAnnotations(meta));
    const charged = chargedByAnnotation(pod, container);
    const ibm = charged ? ibmOf(pod.annotations) : null;
    containers[i] = {
      pod,
      container,
      node: pod.nodeName,
      running: pod.phase === 'Running',
      method,
      products: withIbmAnnotation(mergeFindings(found, tag(charged ? meta : withoutAnnotations(meta), 'metadata')), ibm),
    };
  };
  const fromImage = (container: ClusterContainer) => tag(images.get(container.imageDigest ?? container.image)!.products, 'image');
  const scanContainer = metadataOnly ? undefined : deps.scanContainer;
  if (scanContainer) {
    await mapLimit(slots, opts.concurrency ?? 4, async (slot, i) => {
      const { pod, container } = slot;
      let found = fromImage(container);
      let method: ScanMethod = 'image';
      if (pod.phase === 'Running' && container.running) {
        try {
          const viaExec = await scanContainer(pod, container);
          if (viaExec) {
            // Exec first: it sees the running container (volumes); the image adds what exec cannot see (labels).
            found = mergeFindings(tagEvidence(viaExec, deps.containerMethod ?? 'exec'), found);
            method = deps.containerMethod ?? 'exec';
          }
        } catch (err) {
          errors.push({ target: `${pod.namespace}/${pod.name}/${container.name}`, message: describeError(err) });
        }
      }
      entry(slot, i, found, method);
    });
  } else {
    // Nothing to wait for: one loop, not a promise per container.
    for (let i = 0; i < slots.length; i++) entry(slots[i], i, fromImage(slots[i].container), 'image');
  }
  // Rows are in the model's order (pods sorted, containers as listed), whatever order scans ended in.
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
