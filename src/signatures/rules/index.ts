/**
 * Every evidence kind, listed once. A kind is one module (compile, probes, match); adding one is a
 * file here, a line in this list, its type in ../types.ts and its shape in signature.schema.json.
 */
import type { Rule } from '../types.js';
import type { RuleKind } from './common.js';
import { contentRule } from './content.js';
import { envDefaultRule } from './env-default.js';
import { fileRule } from './file.js';
import { imageRefRule } from './image-ref.js';
import { keyValueRule } from './key-value.js';
import { packageRule } from './package.js';
import { stringsRule } from './strings.js';
import { swidRule } from './swid.js';
import { versionTermsRule } from './version-terms.js';

export const RULE_KINDS: readonly RuleKind[] = [fileRule, contentRule, packageRule, swidRule, keyValueRule, imageRefRule, versionTermsRule, envDefaultRule, stringsRule];

const byKind = new Map<Rule['kind'], RuleKind>();
for (const k of RULE_KINDS) for (const kind of k.kinds) byKind.set(kind, k);

/** The module of a rule kind. */
export function ruleKind(kind: Rule['kind']): RuleKind {
  const k = byKind.get(kind);
  if (!k) throw new Error(`internal: no evidence kind module for "${kind}"`);
  return k;
}
