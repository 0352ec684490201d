import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Finding a container's processes on its node from the container id the API server reports
 * (status.containerStatuses[].containerID). Every runtime puts the id into the cgroup path of
 * the container's processes (docker: /docker/ID or docker-ID.scope; containerd's CRI:
 * cri-containerd-ID.scope or /kubepods/.../ID; CRI-O: crio-ID.scope), so scanning
 * /proc/PID/cgroup works for all of them without asking the runtime.
 */

/** `containerd://ID`, `docker://ID`, `cri-o://ID` → ID (64 hex); null for anything else. */
export function containerIdOf(containerID: string | null | undefined): string | null {
  const m = /^[a-z][a-z0-9.+-]*:\/\/([0-9a-f]{64})$/.exec(containerID?.trim() ?? '');
  return m ? m[1] : null;
}

/** The container ids (of `wanted`) that a /proc/PID/cgroup text names. */
export function idsInCgroup(text: string, wanted: Set<string>): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    // hierarchy-id:controllers:path; the id is a 64-hex path component or inside one (docker-ID.scope).
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    for (const m of path.matchAll(/[0-9a-f]{64}/g)) if (wanted.has(m[0])) out.add(m[0]);
  }
  return [...out];
}

/** Field 22 of /proc/PID/stat (start time in clock ticks); the command name may hold spaces and parentheses. */
export function startTimeOf(stat: string): number | null {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = Number(rest[19]);
  return Number.isFinite(v) ? v : null;
}

/**
 * For each wanted container id, the PID of its first process (earliest start: the container's
 * init, whose root and mounts are the container's). `procRoot` is /proc, or HOST/proc when the
 * host's proc is mounted elsewhere. Processes that end while the scan reads them are skipped.
 */
export async function findContainerPids(procRoot: string, containerIds: Iterable<string>): Promise<Map<string, number>> {
  const wanted = new Set(containerIds);
  const best = new Map<string, { pid: number; start: number }>();
  if (!wanted.size) return new Map();
  const entries = await readdir(procRoot);
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const cgroup = await readFile(join(procRoot, name, 'cgroup'), 'utf8').catch(() => null);
    if (!cgroup) continue;
    const ids = idsInCgroup(cgroup, wanted);
    if (!ids.length) continue;
    const stat = await readFile(join(procRoot, name, 'stat'), 'utf8').catch(() => null);
    const start = stat ? startTimeOf(stat) : null;
    if (start === null) continue;
    const pid = Number(name);
    for (const id of ids) {
      const prev = best.get(id);
      if (!prev || start < prev.start || (start === prev.start && pid < prev.pid)) best.set(id, { pid, start });
    }
  }
  return new Map([...best].map(([id, v]) => [id, v.pid]));
}
