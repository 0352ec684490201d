/** `kind: label | env | annotation`: a key (and value regex) of the image labels, the environment or the pod annotations. */
import type { ScanSubject } from '../../model/entry.js';
import type { Evidence } from '../../model/finding.js';
import type { KeyValueRule } from '../types.js';
import { clip, compileRegex, groups, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

export const keyValueRule: RuleKind<KeyValueRule> = {
  kinds: ['label', 'env', 'annotation'],
  compile(raw: RawRule, ctx: CompileContext): KeyValueRule {
    const value = raw.value !== undefined ? compileRegex(String(raw.value), ctx.flags, `${ctx.field}.value`) : undefined;
    ctx.checkExtract(value, 'value');
    return {
      ...ctx.common,
      kind: raw.kind as KeyValueRule['kind'],
      key: compileRegex(`^(?:${String(raw.key)})$`, ctx.flags, `${ctx.field}.key`),
      value,
    };
  },
  probes: () => [],
  match(rule: KeyValueRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    const map = rule.kind === 'label' ? subject.labels : rule.kind === 'env' ? subject.env : (subject.annotations ?? {});
    for (const [key, value] of Object.entries(map)) {
      if (!rule.key.test(key)) continue;
      let g: { version?: string; edition?: string } = {};
      if (rule.value) {
        const m = rule.value.exec(value);
        if (!m) continue;
        g = groups(m);
      }
      const evidence: Evidence = { kind: rule.kind, path: key, rule: ruleRef, value: clip(value) };
      if (push({ rule, evidence, ...g })) return;
    }
  },
};
