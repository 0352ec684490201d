/** `kind: swid`: an ISO/IEC 19770-2 SWID tag by SoftwareIdentity name (and Entity regid). */
import type { ScanSubject } from '../../model/entry.js';
import type { Evidence } from '../../model/finding.js';
import { parseSwidTag } from '../../packages/swid.js';
import type { SwidRule } from '../types.js';
import { candidates, checkGlobs, clip, compileRegex, contentOf, groups, pathMatches, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

const DEFAULT_SWID_BYTES = 256 * 1024;

export const swidRule: RuleKind<SwidRule> = {
  kinds: ['swid'],
  compile(raw: RawRule, ctx: CompileContext): SwidRule {
    const name = compileRegex(String(raw.name), ctx.flags, `${ctx.field}.name`);
    ctx.checkExtract(name, 'name');
    return {
      ...ctx.common,
      kind: 'swid',
      globs: checkGlobs(raw.glob ?? '**/*.swidtag', `${ctx.field}.glob`),
      ignore: ctx.ignore,
      name,
      regid: raw.regid !== undefined ? compileRegex(String(raw.regid), ctx.flags, `${ctx.field}.regid`) : undefined,
      maxBytes: (raw.maxBytes as number | undefined) ?? DEFAULT_SWID_BYTES,
    };
  },
  probes: (rule) => rule.globs.map((glob) => ({ glob, maxBytes: rule.maxBytes })),
  match(rule: SwidRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    for (const entry of candidates(rule.globs, subject.files)) {
      if (!entry.content || !pathMatches(rule.globs, entry.path) || pathMatches(rule.ignore, entry.path)) continue;
      const tag = parseSwidTag(contentOf(entry, rule.maxBytes)!);
      if (!tag?.name) continue;
      const m = rule.name.exec(tag.name);
      if (!m) continue;
      if (rule.regid && !tag.regids.some((r) => rule.regid!.test(r))) continue;
      const g = groups(m);
      const evidence: Evidence = {
        kind: 'swid',
        path: entry.path,
        rule: ruleRef,
        value: clip(`${tag.name}${tag.version ? ` ${tag.version}` : ''}`),
      };
      if (push({ rule, evidence, version: g.version ?? tag.version, edition: g.edition })) return;
    }
  },
};
