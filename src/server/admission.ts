import type { ProductFinding } from '../model/finding.js';
import type { ScanSubject } from '../model/entry.js';
import type { SignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import type { AdmissionPolicy } from './policy.js';
import { podTemplateOf } from './pod-spec.js';

export interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: {
    uid: string;
    operation?: string;
    namespace?: string;
    name?: string;
    kind?: { kind?: string };
    object?: Record<string, any>;
    dryRun?: boolean;
  };
}

export interface AdmissionResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string; reason?: string };
    warnings?: string[];
  };
}

export interface AdmissionDeps {
  set: SignatureSet;
  policy: AdmissionPolicy;
  /** Findings of an image scanned before (by reference or digest); undefined when never scanned. */
  knownFindings(image: string): ProductFinding[] | undefined;
  /** Whether an entitlement covers this product in this namespace. */
  entitled(product: ProductFinding, namespace: string): boolean;
  /** Asks for a background scan of an image not seen before (admission never waits for it). */
  requestScan?(image: string): void;
}

const ibmAnnotationKeys = ['productID', 'productName', 'productMetric'];

/**
 * Metadata matches per signature set, by what they depend on. The pods of one Deployment or
 * StatefulSet carry the same template, so most reviews repeat one; the match is most of a
 * review's cost. Bounded: the oldest entry goes first.
 */
const metadataMemo = new WeakMap<SignatureSet, Map<string, ProductFinding[]>>();
const memoEntries = 10_000;

function metadataProducts(set: SignatureSet, subject: ScanSubject, key: string): ProductFinding[] {
  let memo = metadataMemo.get(set);
  if (!memo) metadataMemo.set(set, (memo = new Map()));
  const hit = memo.get(key);
  if (hit) return hit;
  const found = matchSubject(set, subject);
  if (memo.size >= memoEntries) memo.delete(memo.keys().next().value!);
  memo.set(key, found);
  return found;
}

/** What one container brings, from earlier scans or, failing that, from its metadata alone. */
function productsOf(
  container: { image: string; env: Record<string, string> },
  annotations: Record<string, string>,
  labels: Record<string, string>,
  deps: AdmissionDeps,
): { products: ProductFinding[]; scanned: boolean } {
  const known = deps.knownFindings(container.image);
  const subject: ScanSubject = { files: new Map(), packages: [], labels, env: container.env, refs: [container.image], annotations };
  const fromMetadata = metadataProducts(deps.set, subject, JSON.stringify([container.image, container.env, labels, annotations]));
  if (!known) return { products: fromMetadata, scanned: false };
  const ids = new Set(known.map((p) => p.id));
  return { products: [...known, ...fromMetadata.filter((p) => !ids.has(p.id))], scanned: true };
}

/**
 * The admission pre-check: a pure function from an AdmissionReview to its answer. Admission
 * must answer within the webhook's timeout, so it uses earlier scan results and metadata only;
 * an unknown image is queued for a background scan and never blocks by itself.
 */
export function reviewAdmission(review: AdmissionReview, deps: AdmissionDeps): AdmissionResponse {
  const req = review.request;
  const uid = req?.uid ?? '';
  const allow = (warnings: string[] = []): AdmissionResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid, allowed: true, ...(warnings.length ? { warnings } : {}) },
  });
  if (!req || (req.operation && req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return allow();
  const namespace = req.namespace ?? req.object?.metadata?.namespace ?? 'default';
  if (deps.policy.excludeNamespaces.includes(namespace)) return allow();
  const pod = podTemplateOf(req.object);
  if (!pod) return allow();

  const violations: string[] = [];
  const warnings: string[] = [];
  for (const container of pod.containers) {
    const { products, scanned } = productsOf(container, pod.annotations, pod.labels, deps);
    if (!scanned) deps.requestScan?.(container.image);
    for (const p of products) {
      const where = `container ${container.name} (${container.image})`;
      const label = `${p.product}${p.edition ? ` ${p.edition}` : ''}`;
      if (deps.policy.deny.includes(p.id)) violations.push(`${label} in ${where} is not allowed by policy`);
      else if (deps.policy.warn.includes(p.id)) warnings.push(`${label} in ${where} is licensed software (${p.licenseMetric})`);
      if (deps.policy.requireEntitlement && p.licensable === true && !deps.entitled(p, namespace)) {
        violations.push(`${label} in ${where} has no entitlement for namespace ${namespace}`);
      }
      if (
        deps.policy.requireIbmAnnotations &&
        p.vendor === 'IBM' &&
        p.licensable !== false &&
        ibmAnnotationKeys.some((k) => !pod.annotations[k])
      ) {
        violations.push(
          `${label} in ${where} lacks the IBM License Service annotations (${ibmAnnotationKeys.join(', ')}): without them IBM counts the capacity of the whole cluster`,
        );
      }
    }
  }
  if (violations.length === 0) return allow(warnings);
  if (deps.policy.mode === 'warn') return allow([...violations, ...warnings]);
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: `kensus: ${violations.join('; ')}` },
      ...(warnings.length ? { warnings } : {}),
    },
  };
}
