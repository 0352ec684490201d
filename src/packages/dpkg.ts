import type { InstalledPackage } from '../model/entry.js';

/**
 * dpkg's status database: RFC 822-style paragraphs (deb-control(5), dpkg(1) "status" file).
 * In /var/lib/dpkg/status only paragraphs whose Status ends in "installed" count; distroless
 * images keep one paragraph per file under status.d/ and write no Status field at all.
 */
export function parseDpkgStatus(text: string, source: string, requireInstalled = true): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const para of text.split(/\r?\n[ \t]*\r?\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of para.split(/\r?\n/)) {
      if (/^[ \t]/.test(line)) continue; // continuation lines (Description, Conffiles...)
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon).toLowerCase();
      fields.set(last, line.slice(colon + 1).trim());
    }
    const name = fields.get('package');
    if (!name) continue;
    const status = fields.get('status');
    if (status !== undefined ? !/\binstalled$/.test(status) || /not-installed$/.test(status) : requireInstalled) continue;
    const pkg: InstalledPackage = { manager: 'dpkg', name, version: fields.get('version') || null, source };
    const arch = fields.get('architecture');
    if (arch) pkg.arch = arch;
    const maint = fields.get('maintainer');
    if (maint) pkg.vendor = maint;
    out.push(pkg);
  }
  return out;
}
