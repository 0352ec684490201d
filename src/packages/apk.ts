import type { InstalledPackage } from '../model/entry.js';

/**
 * Alpine's /lib/apk/db/installed: one block per package, blank-line separated, one-letter keys
 * (P name, V version, A arch, m maintainer), as documented in apk-tools' "Apk spec".
 */
export function parseApkInstalled(text: string, source: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let name: string | undefined;
    let version: string | null = null;
    let arch: string | undefined;
    let vendor: string | undefined;
    for (const line of block.split(/\r?\n/)) {
      if (line.length < 2 || line[1] !== ':') continue;
      const v = line.slice(2);
      if (line[0] === 'P') name = v;
      else if (line[0] === 'V') version = v || null;
      else if (line[0] === 'A') arch = v;
      else if (line[0] === 'm') vendor = v;
    }
    if (!name) continue;
    const pkg: InstalledPackage = { manager: 'apk', name, version, source };
    if (arch) pkg.arch = arch;
    if (vendor) pkg.vendor = vendor;
    out.push(pkg);
  }
  return out;
}
