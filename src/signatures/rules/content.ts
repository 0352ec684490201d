/** `kind: content`: a regex over the first maxBytes of files matching a glob (with require/unless regexes). */
import type { ScanSubject } from '../../model/entry.js';
import type { Evidence } from '../../model/finding.js';
import type { ContentRule } from '../types.js';
import type { SignatureRegex } from '../regex.js';
import { candidates, checkGlobs, clip, compileRegex, contentOf, groups, pathMatches, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

export const contentRule: RuleKind<ContentRule> = {
  kinds: ['content'],
  compile(raw: RawRule, ctx: CompileContext): ContentRule {
    const pattern = compileRegex(String(raw.pattern), ctx.flags, `${ctx.field}.pattern`);
    ctx.checkExtract(pattern, 'pattern');
    const list = (key: 'require' | 'unless'): SignatureRegex[] =>
      ((raw[key] as string[] | undefined) ?? []).map((s, i) => compileRegex(s, ctx.flags, `${ctx.field}.${key}[${i}]`));
    return {
      ...ctx.common,
      kind: 'content',
      globs: checkGlobs(raw.glob, `${ctx.field}.glob`),
      ignore: ctx.ignore,
      pattern,
      require: list('require'),
      unless: list('unless'),
      maxBytes: raw.maxBytes as number,
    };
  },
  probes: (rule) => rule.globs.map((glob) => ({ glob, maxBytes: rule.maxBytes })),
  match(rule: ContentRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    for (const entry of candidates(rule.globs, subject.files)) {
      if (!entry.content || !pathMatches(rule.globs, entry.path) || pathMatches(rule.ignore, entry.path)) continue;
      const text = contentOf(entry, rule.maxBytes)!;
      if (rule.unless.some((re) => re.test(text))) continue;
      if (!rule.require.every((re) => re.test(text))) continue;
      const m = rule.pattern.exec(text);
      if (!m) continue;
      const evidence: Evidence = { kind: 'content', path: entry.path, rule: ruleRef, value: clip(m[0]) };
      if (push({ rule, evidence, ...groups(m) })) return;
    }
  },
};
