/** `kind: file`: a path glob (and an optional path regex with version/edition groups). */
import type { ScanSubject } from '../../model/entry.js';
import type { FileRule } from '../types.js';
import { candidates, checkGlobs, compileRegex, groups, pathMatches, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

export const fileRule: RuleKind<FileRule> = {
  kinds: ['file'],
  compile(raw: RawRule, ctx: CompileContext): FileRule {
    const pathPattern = raw.pathPattern !== undefined ? compileRegex(String(raw.pathPattern), ctx.flags, `${ctx.field}.pathPattern`) : undefined;
    ctx.checkExtract(pathPattern, 'pathPattern');
    return { ...ctx.common, kind: 'file', globs: checkGlobs(raw.glob, `${ctx.field}.glob`), ignore: ctx.ignore, pathPattern };
  },
  probes: (rule) => rule.globs.map((glob) => ({ glob, maxBytes: 0 })),
  match(rule: FileRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    for (const entry of candidates(rule.globs, subject.files)) {
      if (!pathMatches(rule.globs, entry.path) || pathMatches(rule.ignore, entry.path)) continue;
      let g: { version?: string; edition?: string } = {};
      if (rule.pathPattern) {
        const m = rule.pathPattern.exec(entry.path);
        if (!m) continue;
        g = groups(m);
      }
      if (push({ rule, evidence: { kind: 'file', path: entry.path, rule: ruleRef }, ...g })) return;
    }
  },
};
