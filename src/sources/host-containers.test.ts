import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdOf, findContainerPids, idsInCgroup, startTimeOf } from './host-containers.js';

const id = 'a'.repeat(48) + '0123456789abcdef';
const other = 'b'.repeat(64);

describe('container ids and cgroups', () => {
  it('reads the id of every runtime prefix and refuses anything else', () => {
    expect(containerIdOf(`containerd://${id}`)).toBe(id);
    expect(containerIdOf(`docker://${id}`)).toBe(id);
    expect(containerIdOf(`cri-o://${id}`)).toBe(id);
    expect(containerIdOf('docker://short')).toBeNull();
    expect(containerIdOf(null)).toBeNull();
  });

  it('finds the id in the cgroup paths each runtime writes (v1 and v2)', () => {
    const wanted = new Set([id]);
    // docker with cgroupfs (this machine's test dockerd), v1 hierarchies.
    expect(idsInCgroup(`9:name=systemd:/docker/${id}\n4:memory:/docker/${id}\n0::/docker/${id}\n`, wanted)).toEqual([id]);
    // containerd CRI with the systemd driver, cgroup v2.
    expect(idsInCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-${id}.scope\n`, wanted)).toEqual([id]);
    // CRI-O.
    expect(idsInCgroup(`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice/crio-${id}.scope\n`, wanted)).toEqual([id]);
    // containerd with cgroupfs, v1.
    expect(idsInCgroup(`3:cpuset:/kubepods/besteffort/pod9/${id}\n`, wanted)).toEqual([id]);
    expect(idsInCgroup(`0::/docker/${other}\n`, wanted)).toEqual([]);
    expect(idsInCgroup('0::/\n', wanted)).toEqual([]);
  });

  it('reads the start time of a stat line whose command holds spaces and parentheses', () => {
    const stat = '4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615';
    expect(startTimeOf(stat)).toBe(987654);
  });
});

describe('findContainerPids', () => {
  it("picks the container's earliest process, from a proc tree", async () => {
    const proc = mkdtempSync(join(tmpdir(), 'kensus-proc-'));
    try {
      const add = (pid: number, cgroup: string, start: number) => {
        mkdirSync(join(proc, String(pid)));
        writeFileSync(join(proc, String(pid), 'cgroup'), cgroup);
        writeFileSync(join(proc, String(pid), 'stat'), `${pid} (sh) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 0 0`);
      };
      add(300, `0::/docker/${id}\n`, 5000); // a later exec'd process
      add(120, `0::/docker/${id}\n`, 4000); // the container's init
      add(121, `0::/docker/${other}\n`, 100);
      add(1, '0::/\n', 1);
      mkdirSync(join(proc, 'self'));
      const pids = await findContainerPids(proc, [id, 'c'.repeat(64)]);
      expect([...pids]).toEqual([[id, 120]]);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});
