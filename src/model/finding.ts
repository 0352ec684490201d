export type Confidence = 'high' | 'medium' | 'low';

export type EvidenceKind =
  | 'file'
  | 'content'
  | 'package'
  | 'swid'
  | 'label'
  | 'env'
  | 'imageRef'
  | 'annotation';

export interface Evidence {
  kind: EvidenceKind;
  /** File path, package database path, label or env key ... whatever locates the evidence. */
  path?: string;
  /** The signature rule that matched, as `<signature id>/<rule id>`. */
  rule: string;
  /** What was seen (a version string, a label value, a package name@version). */
  value?: string;
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
}
