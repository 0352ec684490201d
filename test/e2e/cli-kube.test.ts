import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startTestCluster, type TestCluster } from '../support/k8s.js';

/**
 * kubectl's kubeconfig, namespace and permission habits on the built CLI against the project's
 * test API server: -n defaulting to the context's namespace, KUBECONFIG files merged as kubectl
 * merges them, "namespace X not found", "no kubeconfig found", and 403 hints naming the permission.
 */
const repo = resolve(import.meta.dirname, '../..');
let cluster: TestCluster;
let dir: string;

/** The built CLI as a child; asynchronous, since the test API server runs in this process. */
function kensus(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const merged: Record<string, string | undefined> = { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return new Promise((done, fail) => {
    execFile(process.execPath, [join(repo, 'bin/kensus.js'), ...args], { encoding: 'utf8', cwd: repo, env: merged as NodeJS.ProcessEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      if (code === null) fail(err);
      else done({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kensus-cli-kube-'));
  cluster = await startTestCluster({
    fixture: { nodes: [{ name: 'worker-1', capacity: { cpu: '8', memory: '32Gi', pods: '110' } }], namespaces: ['quiet'], objects: [] },
    users: [
      { name: 'pods-only', rules: [{ verbs: ['get', 'list'], resources: ['pods'], namespaces: ['quiet'] }] },
      { name: 'nothing', rules: [] },
    ],
    noWait: true,
  });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('namespaces', () => {
  it('a namespace that does not exist is named (exit 2), on scan namespace and scan cluster -n', async () => {
    const kc = ['--kubeconfig', cluster.kubeconfigPath];
    const ns = await kensus(['scan', 'namespace', 'nosuchns', ...kc]);
    expect(ns.code).toBe(2);
    expect(ns.stdout).toBe('');
    expect(ns.stderr).toBe('kensus: namespace nosuchns not found (context admin) (list them with kubectl get namespaces)\n');
    const cl = await kensus(['scan', 'cluster', '--metadata-only', '-n', 'nosuchns', ...kc]);
    expect(cl.code).toBe(2);
    expect(cl.stderr).toMatch(/namespace nosuchns not found/);
  });

  it('an empty namespace says so as kubectl does, and the report is an empty valid document', async () => {
    const r = await kensus(['scan', 'namespace', '-n', 'quiet', '--kubeconfig', cluster.kubeconfigPath, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('kensus: no running pods found in quiet namespace\n');
    expect(JSON.parse(r.stdout).containers).toEqual([]);
  });

  it('KUBECONFIG with several files: missing ones skipped, the first current-context wins, -n defaults to its namespace', async () => {
    // The first file only adds a context (namespace "quiet") and makes it current; the cluster's
    // own kubeconfig, later in the list, names another current context, which kubectl ignores.
    const first = join(dir, 'context-only.yaml');
    writeFileSync(first, stringify({ apiVersion: 'v1', kind: 'Config', contexts: [{ name: 'admin-quiet', context: { cluster: 'kensus-test', user: 'admin', namespace: 'quiet' } }], 'current-context': 'admin-quiet' }));
    const r = await kensus(['scan', 'namespace', '-o', 'json'], { KUBECONFIG: [join(dir, 'missing.yaml'), first, cluster.kubeconfigPath].join(':') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('kensus: no running pods found in quiet namespace\n');
    const pod = await kensus(['scan', 'pod', 'nosuchpod'], { KUBECONFIG: [first, cluster.kubeconfigPath].join(':') });
    expect(pod.code).toBe(3);
    expect(pod.stderr).toMatch(/no pod 'nosuchpod' in namespace quiet/);
  });

  it('no kubeconfig at all says so instead of a TLS error on localhost:8080', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const r = await kensus(['scan', 'namespace', 'quiet'], { HOME: home, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`kensus: no kubeconfig found (checked $KUBECONFIG (unset), ${home}/.kube/config) (give one with --kubeconfig FILE or set KUBECONFIG; for a saved cluster use scan cluster --snapshot FILE)\n`);
    expect(r.stderr).not.toMatch(/localhost:8080/);
  });
});

describe('403 hints name the permission the command needs', () => {
  it('scan cluster without list nodes', async () => {
    const r = await kensus(['scan', 'cluster', '--metadata-only', '--kubeconfig', cluster.kubeconfigPath, '--context', 'pods-only']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/forbidden: the current user may not list nodes \(cluster-scoped\) \(grant it, e\.g\. kubectl create clusterrole kensus-reader --verb=list --resource=nodes /);
  });

  it('scan pod without get pods: get pods and create pods/exec', async () => {
    const r = await kensus(['scan', 'pod', 'web-0', '-n', 'quiet', '--kubeconfig', cluster.kubeconfigPath, '--context', 'nothing']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/may not get pods in namespace quiet \(scan pod needs get pods and create pods\/exec\) \(grant it, e\.g\. kubectl create role kensus-reader -n quiet --verb=get --resource=pods /);
  });
});
