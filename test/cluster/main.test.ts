import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { kubectl, type TestCluster } from '../support/k8s.js';

/** `npm run test-cluster` as a person runs it: starts, serves kubectl, stops cleanly on Ctrl-C. */
const root = join(import.meta.dirname, '..', '..');

describe('test-cluster CLI', () => {
  it('starts with a fixture file in under 5 s, serves kubectl and cleans up on SIGINT', async () => {
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kensus-cli-')), 'kubeconfig');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/cluster/main.ts', '--kubeconfig', kubeconfig, '--fixture', 'test/cluster/testdata/fixture.yaml'], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line after 30 s; stderr: ${stderr}`)), 30_000);
        child.stderr.on('data', () => {
          if (/test cluster ready/.test(stderr)) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
      });
      const ms = Number(/ready at \S+ in (\d+) ms/.exec(stderr)?.[1]);
      expect(ms).toBeLessThan(5000);
      expect(existsSync(kubeconfig)).toBe(true);
      const cluster = { kubeconfigPath: kubeconfig } as TestCluster;
      const r = await kubectl(cluster, ['get', 'pods', '-n', 'demo', '-o', 'jsonpath={.items[*].status.containerStatuses[0].containerID}']);
      expect(r.stdout).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
      const id = r.stdout.slice(9);
      const nodes = await kubectl(cluster, ['get', 'nodes', '-o', 'name']);
      expect(nodes.stdout.trim()).toBe('node/edge-1');
      const host = process.env.KENSUS_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST ?? '';
      const docker = new Docker({ socketPath: host.replace(/^unix:\/\//, '') });
      expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await expect(docker.getContainer(id).inspect()).rejects.toThrow(/no such container/i);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
