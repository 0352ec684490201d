/**
 * A root filesystem on this node as an image: a running container's root (`/proc/PID/root`,
 * report method `host`) or an unpacked directory tree, read through the directory walker.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ImageHandle, ImageSource } from '../image/types.js';
import { dirLayerHandle, liveRootSkips } from '../image/walk-dir.js';
import { badInput, unreachable } from '../errors.js';

function parseEnviron(buf: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of buf.toString('utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

/**
 * `host:PID` or `host:/proc/PID/root` (a running container's root, read from the node), or
 * `host:DIR` (an unpacked root filesystem). One layer: the merged view the kernel shows.
 */
export const hostSource: ImageSource = {
  scheme: 'host',
  form: 'PATH',
  async open(name: string): Promise<ImageHandle> {
    const pid = /^(\d+)$/.exec(name)?.[1] ?? /^\/proc\/(\d+)\/root\/?$/.exec(name)?.[1];
    const root = pid ? `/proc/${pid}/root` : name;
    if (!root.startsWith('/')) throw badInput(`host:${name}: give a PID, /proc/PID/root or an absolute directory`);
    let env: Record<string, string> = {};
    let startTime = '';
    if (pid) {
      env = parseEnviron(await readFile(`/proc/${pid}/environ`).catch(() => Buffer.alloc(0)));
      startTime = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(' ')[21] ?? '';
    }
    const st = await stat(root).catch((err: NodeJS.ErrnoException) => {
      throw unreachable(`cannot read ${root}: ${err.code ?? err.message}`, pid ? 'is the process running on this node, and does Kensus run as root?' : 'check the path');
    });
    // A live root changes: its identity is the process (pid + start time), never a cache hit for another one.
    const id = pid ? `host:${pid}:${startTime}` : `host:${root}:${st.mtimeMs}`;
    return {
      ref: `host:${name}`,
      source: 'host',
      digest: id,
      configDigest: id,
      config: { labels: {}, env, diffIds: [] },
      // The layer id is new on every open: a live root changes, so no cached walk may answer for it.
      layers: [dirLayerHandle(root, `${id}:${Date.now()}`, { skip: pid ? liveRootSkips : [], origin: `host:${root}` })],
      refs: [],
      untrustedCacheScope: `${id}:${Date.now()}`,
      close: async () => {},
    };
  },
};
