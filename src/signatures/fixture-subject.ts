import type { FileEntry, ProbePlan, ScanSubject } from '../model/entry.js';
import type { Fixture, FixtureFile } from '../model/fixture.js';
import { extractPackages } from '../packages/index.js';

/** Deterministic filler for `size:` fixture files (no randomness: digests stay stable). */
export function fillerBytes(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}

/** The bytes a fixture file stands for (empty for links and directories). */
export function fixtureFileBytes(f: FixtureFile): Buffer {
  if (f.content !== undefined) return Buffer.from(f.content, 'utf8');
  if (f.base64 !== undefined) return Buffer.from(f.base64.replace(/\s+/g, ''), 'base64');
  if (f.size !== undefined) return fillerBytes(f.size);
  return Buffer.alloc(0);
}

function under(dir: string, p: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

/**
 * The merged filesystem of a fixture's layers, in memory: whiteouts and opaque directories
 * delete what lower layers put there, later layers win. Used by tests and the demo to run
 * fixtures straight through the matcher; the real sources do the same over tar streams.
 */
export function mergeFixtureLayers(fixture: Fixture): Map<string, { file: FixtureFile; bytes: Buffer }> {
  const fs = new Map<string, { file: FixtureFile; bytes: Buffer }>();
  for (const layer of fixture.layers) {
    for (const dir of layer.opaque ?? []) for (const p of [...fs.keys()]) if (p !== dir && under(dir, p)) fs.delete(p);
    for (const gone of layer.whiteouts ?? []) for (const p of [...fs.keys()]) if (under(gone, p)) fs.delete(p);
    for (const file of layer.files ?? []) {
      const bytes = file.hardlink ? (fs.get(file.hardlink)?.bytes ?? Buffer.alloc(0)) : fixtureFileBytes(file);
      fs.set(file.path, { file, bytes });
    }
  }
  return fs;
}

/** A ScanSubject for a fixture as a source would produce it under `plan` (candidates only, capped reads). */
export async function fixtureSubject(fixture: Fixture, plan: ProbePlan): Promise<ScanSubject> {
  const files = new Map<string, FileEntry>();
  for (const [p, { file, bytes }] of mergeFixtureLayers(fixture)) {
    const kind: FileEntry['kind'] = file.symlink ? 'symlink' : file.hardlink ? 'hardlink' : file.dir ? 'dir' : 'file';
    const want = plan.contentBytes(p);
    if (want === undefined && kind !== 'symlink') continue;
    const entry: FileEntry = { path: p, kind, size: bytes.length, mode: file.mode ?? (file.dir ? 0o755 : 0o644) };
    if (file.symlink) entry.linkTarget = file.symlink;
    if (file.hardlink) entry.linkTarget = file.hardlink;
    if (want && (kind === 'file' || kind === 'hardlink')) {
      entry.content = bytes.subarray(0, want);
      if (bytes.length > want) entry.truncated = true;
    }
    files.set(p, entry);
  }
  return {
    files,
    packages: await extractPackages(files),
    labels: fixture.image.labels ?? {},
    env: fixture.image.env ?? {},
    refs: fixture.image.refs ?? [],
  };
}
