import type { FileEntry, InstalledPackage } from '../model/entry.js';
import { log } from '../log.js';
import { parseApkInstalled } from './apk.js';
import { parseDpkgStatus } from './dpkg.js';
import { BdbFormatError, isBdbHash, readBdbHashValues } from './rpm-bdb.js';
import { isNdb, readNdbBlobs } from './rpm-ndb.js';
import { parseRpmHeaderBlob, rpmPackage } from './rpm-header.js';
import { isSqlite, readRpmSqliteBlobs } from './rpm-sqlite.js';

export { PACKAGE_DB_PROBES } from './paths.js';

const RPM_DB = /^\/(?:var\/lib\/rpm|usr\/lib\/sysimage\/rpm)\/(?:Packages|Packages\.db|rpmdb\.sqlite)$/;

async function rpmRows(entry: FileEntry, content: Buffer): Promise<InstalledPackage[]> {
  let blobs: Buffer[];
  if (isSqlite(content)) blobs = await readRpmSqliteBlobs(content);
  else if (isBdbHash(content)) blobs = readBdbHashValues(content);
  else if (isNdb(content)) blobs = readNdbBlobs(content);
  else {
    // e.g. an empty file left by a distroless build: not a database.
    log.warn({ path: entry.path }, 'rpm database in an unsupported format; skipped');
    return [];
  }
  const rows: InstalledPackage[] = [];
  for (const blob of blobs) {
    const h = parseRpmHeaderBlob(blob);
    if (h) rows.push(rpmPackage(h, entry.path));
  }
  return rows;
}

/**
 * Installed packages from the package databases among `files` (dpkg status and status.d,
 * apk installed, rpm sqlite and Berkeley DB). A database that cannot be read is logged and
 * skipped: one broken file must not hide the rest of the image.
 */
export async function extractPackages(files: ReadonlyMap<string, FileEntry>): Promise<InstalledPackage[]> {
  const out: InstalledPackage[] = [];
  const seen = new Set<string>();
  const add = (rows: InstalledPackage[]): void => {
    for (const r of rows) {
      const key = `${r.manager}\0${r.name}\0${r.version}\0${r.arch ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(r);
    }
  };
  const paths = [...files.keys()].sort();
  for (const p of paths) {
    const entry = files.get(p)!;
    if (entry.kind !== 'file' && entry.kind !== 'hardlink') continue;
    const content = entry.content;
    if (!content) continue;
    try {
      if (p === '/var/lib/dpkg/status') add(parseDpkgStatus(content.toString('utf8'), p));
      else if (p.startsWith('/var/lib/dpkg/status.d/') && !p.endsWith('.md5sums') && !p.slice(23).includes('/'))
        add(parseDpkgStatus(content.toString('utf8'), p, false));
      else if (p === '/lib/apk/db/installed') add(parseApkInstalled(content.toString('utf8'), p));
      else if (RPM_DB.test(p)) add(await rpmRows(entry, content));
    } catch (err) {
      const why = err instanceof BdbFormatError ? err.message : (err as Error).message;
      log.warn({ path: p, err: why }, 'package database could not be read; skipped');
    }
  }
  return out;
}
