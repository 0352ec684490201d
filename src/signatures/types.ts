import type { ProbePlan } from '../model/entry.js';
import type { SignatureRegex } from './regex.js';

/**
 * A product signature as written in signatures/<id>.yaml (after schema validation), plus the
 * compiled regexes the matcher uses. The YAML shape is documented by signatures/signature.schema.json.
 */
export type Strength = 'high' | 'medium' | 'low';
export type PackageManager = 'dpkg' | 'rpm' | 'apk';

interface RuleCommon {
  id: string;
  /** How strongly this rule alone proves the product. */
  strength: Strength;
  /** Support rules never create a finding on their own; they add version/edition/evidence. */
  support: boolean;
  /** A fixed edition this rule implies (mapped through the signature's `editions`). */
  edition?: string;
  /** The public files or documents that show the layout this rule relies on (empty: uncited). */
  source: string[];
}

export interface FileRule extends RuleCommon {
  kind: 'file';
  globs: string[];
  /** Paths that never count even when `globs` match. */
  ignore: string[];
  /** Regex over the path; its `version` / `edition` groups are taken. */
  pathPattern?: SignatureRegex;
}

export interface ContentRule extends RuleCommon {
  kind: 'content';
  globs: string[];
  ignore: string[];
  pattern: SignatureRegex;
  /** Every one of these must also match the (bounded) content. */
  require: SignatureRegex[];
  /** If any of these matches the content, the file does not count (e.g. OpenJDK builds). */
  unless: SignatureRegex[];
  maxBytes: number;
}

export interface PackageRule extends RuleCommon {
  kind: 'package';
  managers: PackageManager[];
  /** Matched against the whole package name. */
  name: SignatureRegex;
  /** 'upstream' strips the epoch and the -release; 'full' keeps them; 'none' takes no version. */
  version: 'upstream' | 'full' | 'none';
}

export interface SwidRule extends RuleCommon {
  kind: 'swid';
  globs: string[];
  ignore: string[];
  /** Matched against SoftwareIdentity@name. */
  name: SignatureRegex;
  /** Matched against an Entity@regid, when given. */
  regid?: SignatureRegex;
  maxBytes: number;
}

export interface KeyValueRule extends RuleCommon {
  kind: 'label' | 'env' | 'annotation';
  /** Matched against the whole key. */
  key: SignatureRegex;
  /** Matched against the value; `version` / `edition` groups are taken. */
  value?: SignatureRegex;
}

export interface ImageRefRule extends RuleCommon {
  kind: 'imageRef';
  pattern: SignatureRegex;
}

/** `kind: versionTerms`: the product's licence terms looked up by the finding's version (and release date) in a cited table. */
export interface VersionTermsRule extends RuleCommon {
  kind: 'versionTerms';
  /** The table's file, relative to the signatures directory (data/<name>.yaml). */
  tableFile: string;
  table: TermsTable;
}

/** `kind: envDefault`: the edition a product documents for when an environment variable is not set. */
export interface EnvDefaultRule extends RuleCommon {
  kind: 'envDefault';
  /** Matched against the whole variable name. */
  key: SignatureRegex;
  /** The variable as written, for the evidence. */
  keyText: string;
  edition: string;
}

/**
 * `kind: strings`: literal strings searched for in a file's bytes, streamed up to a budget (a
 * runtime's name deep inside libjvm.so, a banner in a database binary); an optional regex runs on
 * the window found (the needle and the printable bytes after it).
 */
export interface StringsRule extends RuleCommon {
  kind: 'strings';
  globs: string[];
  ignore: string[];
  /** Literal needles (printable ASCII); any one found counts. */
  find: string[];
  /** Matched against the window; its `version` / `edition` groups are taken. */
  pattern?: SignatureRegex;
  /** Printable bytes after the needle kept for `pattern`. */
  window: number;
  /** Bytes from the start of the file searched, at most. */
  budget: number;
}

export type Rule = FileRule | ContentRule | PackageRule | SwidRule | KeyValueRule | ImageRefRule | VersionTermsRule | EnvDefaultRule | StringsRule;

/** Named licence terms of a table (signatures/data/*.yaml): the name becomes the edition. */
export interface TermsInfo {
  name: string;
  licensable: boolean | null;
}

export interface TermsRange {
  /** Dotted numeric bounds, inclusive ("1.8.0_211" is [1, 8, 0, 211]). */
  from: number[];
  to: number[];
  fromText: string;
  toText: string;
  /** Key into the table's terms; null: the terms cannot be told for this range. */
  terms: string | null;
  /** Release dates (YYYY-MM-DD) the range is limited to, when the release date is known. */
  releasedFrom?: string;
  releasedTo?: string;
  /** The range applies only when the release date is known. */
  requireDate: boolean;
}

export interface TermsTable {
  id: string;
  terms: Record<string, TermsInfo>;
  ranges: TermsRange[];
}

export interface EditionMapping {
  name: string;
  match: SignatureRegex;
  licensable?: boolean | null;
}

export interface Signature {
  id: string;
  vendor: string;
  product: string;
  licenseMetric: string;
  /** Default when no edition says otherwise; null when it cannot be told. */
  licensable: boolean | null;
  editions: EditionMapping[];
  /** Rewrites applied to every extracted version, in order. */
  versionReplace: Array<{ pattern: SignatureRegex; with: string }>;
  evidence: Rule[];
  /** Any match rules the whole product out for the subject. */
  exclude: Rule[];
  /** The file the signature came from (for messages). */
  file: string;
}

export interface SignatureSet {
  signatures: Signature[];
  plan: ProbePlan;
  /** Hash of the signature files + matcher version: part of layer-cache keys. */
  version: string;
}
