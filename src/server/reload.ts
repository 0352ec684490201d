import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { describeError } from '../errors.js';
import { log } from '../log.js';

export interface ReloadTarget {
  file: string;
  what: string;
  /** Reads and applies the file; throws (bad input) to keep what was there. */
  apply(): Promise<void>;
}

/**
 * Re-reads `kensus serve`'s policy and entitlements when they change on disk, and on SIGHUP:
 * a fixed typo or a new entitlement applies without a restart. The directory is watched, not
 * the file: editors and Kubernetes ConfigMap updates replace the file (a new inode, or the
 * `..data` symlink swapped). A file that no longer reads or validates is reported and the
 * previous one stays in force. Returns a function that stops watching.
 */
export function reloadOnChange(targets: ReloadTarget[]): () => void {
  const hashes = new Map<string, string>();
  const hash = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');
  // Read now, before anything can change them: a later first read would take an edit for the baseline.
  for (const t of targets) {
    try {
      hashes.set(t.file, createHash('sha256').update(readFileSync(t.file)).digest('hex'));
    } catch {
      /* unreadable now: the first change or SIGHUP reads it */
    }
  }

  const reload = async (t: ReloadTarget, force: boolean) => {
    let h: string;
    try {
      h = await hash(t.file);
    } catch (err) {
      return log.error({ file: t.file, err: describeError(err) }, `${t.what} file cannot be read; the previous ${t.what} stays in force`);
    }
    if (!force && hashes.get(t.file) === h) return;
    hashes.set(t.file, h);
    try {
      await t.apply();
      log.warn({ file: t.file }, `${t.what} reloaded`);
    } catch (err) {
      log.error({ file: t.file, err: describeError(err) }, `${t.what} not reloaded; the previous ${t.what} stays in force`);
    }
  };

  const timers = new Map<ReloadTarget, NodeJS.Timeout>();
  const soon = (t: ReloadTarget) => {
    clearTimeout(timers.get(t));
    // one reload for the burst of events one save makes
    timers.set(t, setTimeout(() => void reload(t, false), 150).unref());
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(targets.map((t) => dirname(t.file)))) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        for (const t of targets) if (dirname(t.file) === dir && (!name || name === basename(t.file) || name.startsWith('..'))) soon(t);
      });
      w.on('error', (err) => log.warn({ dir, err: err.message }, 'cannot watch for changes; send SIGHUP to reload'));
      watchers.push(w);
    } catch (err) {
      log.warn({ dir, err: (err as Error).message }, 'cannot watch for changes; send SIGHUP to reload');
    }
  }
  const onHup = () => {
    for (const t of targets) void reload(t, true);
  };
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGHUP', onHup);
    for (const w of watchers) w.close();
    for (const t of timers.values()) clearTimeout(t);
  };
}
