/**
 * `kind: strings`: literal strings deep inside large binaries (a runtime's name in libjvm.so some
 * 16 MB in, a product banner with its version in a database binary). Sources search the bytes as
 * they stream past, up to the rule's budget (ProbePlan.scanFor, util/needle-scan.ts), and keep only
 * the first place of each needle with a short window after it; this module matches those hits.
 */
import type { ScanSubject } from '../../model/entry.js';
import type { StringsRule } from '../types.js';
import { MAX_WINDOW } from '../../util/needle-scan.js';
import { candidates, checkGlobs, clip, compileRegex, groups, pathMatches, SignatureFileError, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

/** Window kept after a needle when the rule has a pattern and does not say. */
const DEFAULT_WINDOW = 96;

export const stringsRule: RuleKind<StringsRule> = {
  kinds: ['strings'],
  compile(raw: RawRule, ctx: CompileContext): StringsRule {
    const find = Array.isArray(raw.find) ? (raw.find as string[]) : [String(raw.find)];
    find.forEach((needle, i) => {
      // The tracker passes needles to grep -F and sources compare bytes: printable ASCII only.
      if (!/^[ -~]+$/.test(needle)) {
        throw new SignatureFileError(`${ctx.field}.find${Array.isArray(raw.find) ? `[${i}]` : ''}`, `needle ${JSON.stringify(needle)} is not printable ASCII`, 'write the literal text as it appears in the binary, ASCII characters only; put variable parts in `pattern`');
      }
    });
    const pattern = raw.pattern !== undefined ? compileRegex(String(raw.pattern), ctx.flags, `${ctx.field}.pattern`) : undefined;
    ctx.checkExtract(pattern, 'pattern');
    const window = (raw.window as number | undefined) ?? (pattern ? DEFAULT_WINDOW : 0);
    if (window > MAX_WINDOW) throw new SignatureFileError(`${ctx.field}.window`, `window ${window} is more than ${MAX_WINDOW}`, `keep the window at most ${MAX_WINDOW} bytes`);
    return {
      ...ctx.common,
      kind: 'strings',
      globs: checkGlobs(raw.glob, `${ctx.field}.glob`),
      ignore: ctx.ignore,
      find,
      pattern,
      window,
      budget: raw.budget as number,
    };
  },
  // The entry is a candidate (its header kept); its bytes are searched, not kept.
  probes: (rule) => rule.globs.map((glob) => ({ glob, maxBytes: 0 })),
  scans: (rule) => rule.globs.map((glob) => ({ glob, needles: rule.find, budget: rule.budget, window: rule.window })),
  match(rule: StringsRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    for (const entry of candidates(rule.globs, subject.files)) {
      if (!entry.found || !pathMatches(rule.globs, entry.path) || pathMatches(rule.ignore, entry.path)) continue;
      for (const hit of entry.found) {
        // Another rule on the same path may search further or keep more: hold this one to its own bounds.
        // (The tracker cannot tell an offset: its search ran to the largest budget of the path's rules.)
        if (!rule.find.includes(hit.needle) || (hit.offset !== null && hit.offset + hit.needle.length > rule.budget)) continue;
        const text = hit.text.slice(0, Math.min(hit.needle.length + rule.window, hit.offset === null ? Infinity : rule.budget - hit.offset));
        let g = {};
        if (rule.pattern) {
          const m = rule.pattern.exec(text);
          if (!m) continue;
          g = groups(m);
        }
        if (push({ rule, evidence: { kind: 'strings', path: entry.path, rule: ruleRef, value: clip(hit.offset === null ? text : `${text} (at byte ${hit.offset})`) }, ...g })) return;
        break;
      }
    }
  },
};
