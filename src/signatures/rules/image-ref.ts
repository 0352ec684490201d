/** `kind: imageRef`: a regex over the names the image is known by (tags, digests, pod image fields). */
import type { ScanSubject } from '../../model/entry.js';
import type { ImageRefRule } from '../types.js';
import { compileRegex, groups, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

export const imageRefRule: RuleKind<ImageRefRule> = {
  kinds: ['imageRef'],
  compile(raw: RawRule, ctx: CompileContext): ImageRefRule {
    const pattern = compileRegex(String(raw.pattern), ctx.flags, `${ctx.field}.pattern`);
    ctx.checkExtract(pattern, 'pattern');
    return { ...ctx.common, kind: 'imageRef', pattern };
  },
  probes: () => [],
  match(rule: ImageRefRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    for (const ref of subject.refs) {
      const m = rule.pattern.exec(ref);
      if (!m) continue;
      if (push({ rule, evidence: { kind: 'imageRef', rule: ruleRef, value: ref }, ...groups(m) })) return;
    }
  },
};
