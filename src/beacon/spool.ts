import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput } from '../errors.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const TMP_PREFIX = '.tmp-';

/**
 * Files waiting for the beacon. Written to a temporary name and renamed, so a crash never
 * leaves half a file to upload; one entry per file name (a file written again replaces the
 * waiting copy). Oldest first.
 */
export class Spool {
  constructor(readonly dir: string) {}

  async put(name: string, content: string | Buffer): Promise<void> {
    if (!NAME_RE.test(name) || name.startsWith(TMP_PREFIX)) throw badInput(`cannot spool ${JSON.stringify(name)}: not a plain file name`, 'letters, digits, . _ - only');
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `${TMP_PREFIX}${process.pid}-${Math.random().toString(36).slice(2)}`);
    await writeFile(tmp, content);
    await rename(tmp, join(this.dir, name));
  }

  /** Waiting file names, oldest first. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries = await Promise.all(
      names
        .filter((n) => NAME_RE.test(n) && !n.startsWith(TMP_PREFIX))
        .map(async (n) => ({ n, t: await stat(join(this.dir, n)).then((s) => (s.isFile() ? s.mtimeMs : null), () => null) })),
    );
    return entries
      .filter((e): e is { n: string; t: number } => e.t !== null)
      .sort((a, b) => a.t - b.t || a.n.localeCompare(b.n))
      .map((e) => e.n);
  }

  read(name: string): Promise<Buffer> {
    return readFile(join(this.dir, name));
  }

  async remove(name: string): Promise<void> {
    await unlink(join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
