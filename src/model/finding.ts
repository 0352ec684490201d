export type Confidence = 'high' | 'medium' | 'low';

export type EvidenceKind =
  | 'file'
  | 'content'
  | 'package'
  | 'swid'
  | 'label'
  | 'env'
  | 'imageRef'
  | 'annotation'
  /** A cited table of the product's licence terms, looked up by the version found. */
  | 'terms'
  /** A documented default the product applies when nothing says otherwise (an unset variable). */
  | 'default'
  /** A literal string found deep inside a binary (a runtime's name, a banner with its version). */
  | 'strings';

/**
 * Which way of looking saw a piece of evidence, where one finding joins several: the tracker in
 * the running container (`exec`), the image by digest (`image`: its layers or its config's
 * labels), the node's view of the container (`host`), or what the cluster says about the
 * container (`metadata`: the reference it was started from, pod annotations, the spec's env).
 */
export type EvidenceMethod = 'exec' | 'image' | 'host' | 'metadata';

export interface Evidence {
  kind: EvidenceKind;
  /** File path, package database path, label or env key ... whatever locates the evidence. */
  path?: string;
  /** The signature rule that matched, as `<signature id>/<rule id>`. */
  rule: string;
  /** What was seen (a version string, a label value, a package name@version). */
  value?: string;
  /** Marks the evidence the finding's version and edition were taken from. */
  gives?: Array<'version' | 'edition'>;
  /** Set on container findings of cluster and workload scans. */
  method?: EvidenceMethod;
}

/** One product found in one subject: the `products[]` rows of CONTRACT.md. */
export interface ProductFinding {
  id: string;
  vendor: string;
  product: string;
  edition: string | null;
  version: string | null;
  licenseMetric: string;
  licensable: boolean | null;
  confidence: Confidence;
  evidence: Evidence[];
  /** What the evidence disagreed on (two editions, ...) and which side the finding took. */
  warnings?: string[];
}
