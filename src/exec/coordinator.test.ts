import { describe, expect, it } from 'vitest';
import type { ClusterContainer, ClusterPod } from '../cluster/model.js';
import type { ProbePlan } from '../model/entry.js';
import { TrackerCollector, parseMode, parseRpmQuery, parseEnviron, decodeName } from './collect.js';
import { groupReplicas, replicaKey } from './dedup.js';
import { buildTrackerScript, casePattern, expandBraces, shQuote, trackerProbes } from './script.js';

const digest = `sha256:${'a'.repeat(64)}`;

function container(extra: Partial<ClusterContainer> = {}): ClusterContainer {
  return {
    name: 'main', init: false, image: 'db:1', imageID: null, imageDigest: digest, containerID: null,
    cpuLimitMilli: null, cpuRequestMilli: null, gpus: 0, mig: {}, vgpu: 0, env: {}, running: true, ...extra,
  };
}

function pod(name: string, owner: { kind: string; name: string } | null, volumes: Array<{ name: string; type: string }> = []): ClusterPod {
  return {
    namespace: 'ns', name, uid: name, nodeName: 'n1', phase: 'Running', labels: {}, annotations: {},
    owners: owner ? [owner] : [], containers: [container()], volumes,
  };
}

describe('replica dedup', () => {
  it('groups pods of one owner with one image digest and shared-content volumes only', () => {
    const rs = { kind: 'ReplicaSet', name: 'web-1' };
    const pods = [
      pod('web-a', rs, [{ name: 'tmp', type: 'emptyDir' }, { name: 'cfg', type: 'configMap' }]),
      pod('web-b', rs, [{ name: 'tmp', type: 'emptyDir' }]),
      pod('st-0', { kind: 'StatefulSet', name: 'st' }, [{ name: 'data', type: 'persistentVolumeClaim' }]),
      pod('st-1', { kind: 'StatefulSet', name: 'st' }, [{ name: 'data', type: 'persistentVolumeClaim' }]),
      pod('agent-x', { kind: 'DaemonSet', name: 'agent' }, [{ name: 'host', type: 'hostPath' }]),
      pod('lonely', null),
    ];
    const groups = groupReplicas(pods, (p) => replicaKey(p, p.containers[0]));
    expect(groups.map((g) => g.map((p) => p.name))).toEqual([['web-a', 'web-b'], ['st-0'], ['st-1'], ['agent-x'], ['lonely']]);
  });

  it('does not group replicas whose image digests differ or are unknown', () => {
    const rs = { kind: 'ReplicaSet', name: 'web-1' };
    const a = pod('a', rs);
    const b = { ...pod('b', rs), containers: [container({ imageDigest: `sha256:${'b'.repeat(64)}` })] };
    const c = { ...pod('c', rs), containers: [container({ imageDigest: null })] };
    expect(groupReplicas([a, b, c], (p) => replicaKey(p, p.containers[0])).length).toBe(3);
  });
});


describe('tracker script', () => {
  it('expands braces and turns the plan into case patterns, largest caps first', () => {
    expect(expandBraces('/opt/{a,b{1,2}}/x')).toEqual(['/opt/a/x', '/opt/b1/x', '/opt/b2/x']);
    const plan: ProbePlan = {
      version: 'v',
      contentBytes: () => undefined,
      probes: [
        { glob: '/opt/**/bin/db2', maxBytes: 0 },
        { glob: 'release', maxBytes: 100 },
        { glob: '/etc/{x,y}.conf', maxBytes: 50 },
      ],
    };
    expect(trackerProbes(plan)).toEqual([
      { glob: '*/release', maxBytes: 100 },
      { glob: '/etc/x.conf', maxBytes: 50 },
      { glob: '/etc/y.conf', maxBytes: 50 },
      { glob: '/opt/*/bin/db2', maxBytes: 0 },
      { glob: '/opt/bin/db2', maxBytes: 0 },
    ]);
  });

  it('embeds the plan as quoted literals: nothing in a glob is expanded or executed', () => {
    expect(shQuote(`a'b$(x)`)).toBe(`'a'\\''b$(x)'`);
    expect(casePattern("/x/$(reboot)'*`~ #")).toBe("/x/\\$\\(reboot\\)\\'*\\`\\~\\ \\#");
    const script = buildTrackerScript({ version: 'v', contentBytes: () => 0, probes: [{ glob: '/opt/*/bin/db2', maxBytes: 7 }] });
    expect(script).toContain('    /opt/*/bin/db2) kt_m=7; return 0 ;;');
    expect(script).toContain('    db2) ;;');
  });
});

describe('collector', () => {
  it('parses both mode forms, rpm rows and environ', () => {
    expect(parseMode('81ed')).toBe(0o755);
    expect(parseMode('p-rwsr-x--T')).toBe(0o4000 | 0o1000 | 0o750);
    expect(parseRpmQuery('bash\t(none):5.1.8-9.el9\tx86_64\tRed Hat, Inc.\nkernel\t1:5.14-1\tx86_64\t(none)\n')).toEqual([
      { manager: 'rpm', name: 'bash', version: '5.1.8-9.el9', arch: 'x86_64', vendor: 'Red Hat, Inc.', source: 'rpm -qa' },
      { manager: 'rpm', name: 'kernel', version: '1:5.14-1', arch: 'x86_64', source: 'rpm -qa' },
    ]);
    expect(parseEnviron(Buffer.from('A=1\0B=x=y\0junk\0'))).toEqual({ A: '1', B: 'x=y' });
    expect(decodeName(Buffer.from([0x2f, 0xff]))).toBe('/\u00ff');
  });

  it('lets the plan decide what is kept and caps content whatever the container sends', () => {
    const plan: ProbePlan = { version: 'v', probes: [], contentBytes: (p) => (p === '/a' ? 4 : p === '/b' ? 0 : undefined) };
    const c = new TrackerCollector(plan);
    const f = (name: string, payload: string, size: number) => ({ type: 'F' as const, name: Buffer.from(name), payload: Buffer.from(payload), fields: [String(size), '81a4'] });
    c.add(f('/a', 'abcdefgh', 8));
    c.add(f('/b', 'xyz', 3));
    c.add(f('/not-in-plan', 'zzz', 3));
    expect(c.result.files.get('/a')).toMatchObject({ size: 8, mode: 0o644, truncated: true, origin: 'exec' });
    expect(c.result.files.get('/a')!.content!.toString()).toBe('abcd');
    expect(c.result.files.get('/b')!.content).toBeUndefined();
    expect(c.result.files.has('/not-in-plan')).toBe(false);
    expect(() => c.add(f('relative/x', '', 0))).toThrow(/not an absolute normalised path/);
    expect(() => c.add(f('/a/../etc/shadow', '', 0))).toThrow(/not an absolute normalised path/);
  });
});
