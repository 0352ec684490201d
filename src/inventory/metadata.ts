import { Minimatch } from 'minimatch';
import type { ScanSubject } from '../model/entry.js';
import type { ProductFinding } from '../model/finding.js';
import { badInput } from '../errors.js';
import { readYamlFile, shippedFile } from '../shipped-data.js';
import { parseIbmAnnotations } from '../cluster/ibm-annotations.js';
import { imageRepository } from '../model/image-name.js';

export { imageRepository } from '../model/image-name.js';

/** Finds products in a subject that has no files: image references, labels, annotations. */
export type MetadataMatcher = (subject: ScanSubject) => ProductFinding[];

interface PatternEntry {
  id: string;
  vendor: string;
  product: string;
  edition?: string;
  licenseMetric: string;
  licensable: boolean | null;
  images: string[];
}

/** A product id that fits the report schema (^[a-z0-9][a-z0-9-]*$). */
export function ibmProductFindingId(productId: string): string {
  return `ibm-${productId.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '')}`;
}

/** The IBM product a pod's licensing annotations declare, as a finding. */
export function ibmAnnotationFinding(annotations: Record<string, string>): ProductFinding | null {
  const ann = parseIbmAnnotations(annotations);
  if (!ann) return null;
  return {
    id: ibmProductFindingId(ann.productId),
    vendor: 'IBM',
    product: ann.productName,
    edition: null,
    version: annotations.productVersion?.trim() || null,
    licenseMetric: ann.productMetric,
    licensable: true,
    confidence: 'high',
    evidence: [{ kind: 'annotation', path: 'productID', rule: 'ibm-license-annotations/productID', value: ann.productId }],
  };
}

let fallback: Array<PatternEntry & { compiled: Minimatch[] }> | undefined;

function loadPatterns(): Array<PatternEntry & { compiled: Minimatch[] }> {
  if (fallback) return fallback;
  const file = shippedFile('inventory/data/metadata-patterns.yaml');
  const data = readYamlFile(file, 'metadata pattern') as { products?: PatternEntry[] } | null;
  if (!data || !Array.isArray(data.products)) throw badInput(`${file}: missing 'products' list`, 'reinstall Kensus');
  // Compiled once: the matcher runs for every container of the cluster.
  fallback = data.products.map((e) => ({ ...e, compiled: e.images.map((g) => new Minimatch(g, { nocase: true })) }));
  return fallback;
}

/** The product ids the image-pattern list can report. */
export function metadataPatternIds(): string[] {
  return loadPatterns().map((e) => e.id);
}

/**
 * The fallback matcher: image reference globs from src/inventory/data/metadata-patterns.yaml.
 * IBM annotations are handled by `ibmAnnotationFinding` for every mode, not here.
 */
export function patternMetadataMatcher(subject: ScanSubject): ProductFinding[] {
  const out = new Map<string, ProductFinding>();
  for (const ref of subject.refs) {
    const repo = imageRepository(ref);
    for (const e of loadPatterns()) {
      const glob = e.compiled.find((m) => m.match(repo))?.pattern;
      if (!glob || out.has(e.id)) continue;
      out.set(e.id, {
        id: e.id,
        vendor: e.vendor,
        product: e.product,
        edition: e.edition ?? null,
        version: null,
        licenseMetric: e.licenseMetric,
        licensable: e.licensable,
        confidence: 'medium',
        evidence: [{ kind: 'imageRef', path: ref, rule: `metadata-patterns/${e.id}`, value: glob }],
      });
    }
  }
  return [...out.values()];
}

/** Several matchers as one; the first finding of an id wins, later ones add their evidence. */
export function combinedMatcher(...matchers: MetadataMatcher[]): MetadataMatcher {
  return (subject) => {
    const out = new Map<string, ProductFinding>();
    for (const m of matchers) {
      for (const f of m(subject)) {
        const prev = out.get(f.id);
        out.set(f.id, prev ? { ...prev, evidence: [...prev.evidence, ...f.evidence] } : f);
      }
    }
    return [...out.values()];
  };
}
