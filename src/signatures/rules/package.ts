/** `kind: package`: an installed dpkg/rpm/apk package by name (parsed by src/packages/). */
import type { InstalledPackage, ScanSubject } from '../../model/entry.js';
import type { Evidence } from '../../model/finding.js';
import type { PackageManager, PackageRule } from '../types.js';
import { compileRegex, groups, type CompileContext, type PushHit, type RawRule, type RuleKind } from './common.js';

/** dpkg "1:2.3-4ubuntu1" / rpm "1:2.3-4.el9" / apk "2.3-r4" -> "2.3" */
export function upstreamVersion(v: string): string {
  let out = v.replace(/^\d+:/, '');
  const dash = out.lastIndexOf('-');
  if (dash > 0) out = out.slice(0, dash);
  return out;
}

function pkgVersion(pkg: InstalledPackage, mode: 'upstream' | 'full' | 'none'): string | undefined {
  if (mode === 'none' || !pkg.version) return undefined;
  return mode === 'full' ? pkg.version : upstreamVersion(pkg.version);
}

export const packageRule: RuleKind<PackageRule> = {
  kinds: ['package'],
  compile(raw: RawRule, ctx: CompileContext): PackageRule {
    const name = compileRegex(`^(?:${String(raw.name)})$`, ctx.flags, `${ctx.field}.name`);
    ctx.checkExtract(name, 'name');
    return {
      ...ctx.common,
      kind: 'package',
      managers: (raw.managers as PackageManager[] | undefined) ?? ['dpkg', 'rpm', 'apk'],
      name,
      version: (raw.version as 'upstream' | 'full' | 'none' | undefined) ?? 'upstream',
    };
  },
  // Package databases are read for every scan (src/packages/paths.ts), whatever the rules.
  probes: () => [],
  match(rule: PackageRule, subject: ScanSubject, ruleRef: string, push: PushHit): void {
    for (const pkg of subject.packages) {
      if (!rule.managers.includes(pkg.manager)) continue;
      const m = rule.name.exec(pkg.name);
      if (!m) continue;
      const g = groups(m);
      const version = g.version ?? pkgVersion(pkg, rule.version);
      const evidence: Evidence = {
        kind: 'package',
        path: pkg.source,
        rule: ruleRef,
        value: pkg.version ? `${pkg.name}@${pkg.version}` : pkg.name,
      };
      if (push({ rule, evidence, version, edition: g.edition })) return;
    }
  },
};
