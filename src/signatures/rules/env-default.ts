/**
 * `kind: envDefault`: the edition a product documents for when a variable is not set (SQL Server's
 * Linux images run as Developer without MSSQL_PID). A support rule of low weight: any rule that
 * reads the variable wins, and the evidence says that the default was applied.
 */
import type { ScanSubject } from '../../model/entry.js';
import type { EnvDefaultRule } from '../types.js';
import { compileRegex, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

export const envDefaultRule: RuleKind<EnvDefaultRule> = {
  kinds: ['envDefault'],
  compile(raw: RawRule, ctx: CompileContext): EnvDefaultRule {
    const keyText = String(raw.key);
    return {
      ...ctx.common,
      // An unset variable proves nothing about the product's presence.
      support: true,
      strength: (raw.strength as EnvDefaultRule['strength'] | undefined) ?? 'low',
      kind: 'envDefault',
      key: compileRegex(`^(?:${keyText})$`, ctx.flags, `${ctx.field}.key`),
      keyText,
      edition: String(raw.edition),
    };
  },
  probes: () => [],
  match(rule: EnvDefaultRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    if (Object.keys(subject.env).some((k) => rule.key.test(k))) return;
    push({
      rule,
      evidence: { kind: 'default', path: rule.keyText, rule: ruleRef, value: `${rule.keyText} is not set: the documented default ${rule.edition} applies` },
      edition: rule.edition,
    });
  },
};
