import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, startTestCluster, type TestCluster } from '../support/k8s.js';
import { find, podTemplates, render, renderYaml, REPO, VARIANTS, variantDir, type K } from './render.js';

/**
 * deploy/kubernetes rendered with the machine's `kubectl kustomize` and applied with its
 * `kubectl apply` to the test API server, overlay by overlay; then what each workload is given
 * (commands, flags, volumes, privileges) read from the rendered objects.
 */

const IMAGE = 'registry.example.com/kensus/kensus:0.1.0';
const rendered = new Map<string, K[]>();
let cluster: TestCluster;

beforeAll(async () => {
  for (const v of VARIANTS) rendered.set(v.name, await render(v));
  cluster = await startTestCluster({ noWait: true });
  const crds = await kubectl(cluster, ['apply', '-f', join(import.meta.dirname, 'testdata', 'crds.yaml')]);
  expect(crds.code, crds.stderr).toBe(0);
});

afterAll(async () => {
  await cluster?.stop();
});

const objs = (name: string): K[] => rendered.get(name)!;
const containers = (spec: K): K[] => [...(spec.initContainers ?? []), ...spec.containers];
const argsOf = (o: K): string[] => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec).containers[0].args;

describe('kubectl apply to the test API server', () => {
  for (const v of VARIANTS) {
    it(`applies ${v.name} and stores every object as rendered`, async () => {
      // `kubectl apply -k DIR`, what the docs tell users to run.
      const applied = await kubectl(cluster, ['apply', '-k', variantDir(v)], { timeoutMs: 60_000 });
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stderr).not.toMatch(/error|unknown field/i);
      const expected = objs(v.name);
      const lines = applied.stdout.trim().split('\n');
      expect(lines).toHaveLength(expected.length);
      for (const line of lines) expect(line).toMatch(/ (created|configured|unchanged)$/);

      const got = await kubectl(cluster, ['get', '-f', '-', '-o', 'json'], { input: await renderYaml(v) });
      expect(got.code, got.stderr).toBe(0);
      const parsed = JSON.parse(got.stdout);
      const items: K[] = parsed.kind === 'List' ? parsed.items : [parsed];
      expect(items.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(expected.map((o) => `${o.kind}/${o.metadata.name}`).sort());
      for (const want of expected) {
        const stored = items.find((o) => o.kind === want.kind && o.metadata.name === want.metadata.name)!;
        if (want.spec) expect(stored.spec, `${want.kind}/${want.metadata.name}`).toMatchObject(want.spec);
        if (want.rules) expect(stored.rules).toEqual(want.rules);
      }

      // Leave the cluster as it was for the next variant (cluster-scoped objects and the namespace too).
      // (The test server removes a namespace's objects at once, so some are gone when kubectl gets to them.)
      const deleted = await kubectl(cluster, ['delete', '-k', variantDir(v), '--wait=false', '--ignore-not-found'], { timeoutMs: 60_000 });
      expect(deleted.code, deleted.stderr).toBe(0);
    });
  }
});

describe('every variant', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: one namespace, resolved names, the image set, hardened pods`, () => {
      const all = objs(v.name);
      const namespaced = all.filter((o) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'SecurityContextConstraints'].includes(o.kind));
      for (const o of namespaced) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('kensus-system');

      const names = (kind: string) => new Set(all.filter((o) => o.kind === kind).map((o) => o.metadata.name));
      // Secrets made outside the manifests: by cert-manager from a Certificate, by the
      // certificate Job, or by the user (documented in the overlay that needs them).
      const secrets = new Set<string>(all.filter((o) => o.kind === 'Certificate').map((o) => o.spec.secretName));
      if (find(all, 'Job', 'kensus-webhook-cert')) secrets.add('kensus-tls');
      secrets.add('kensus-postgres').add('kensus-pull-secret').add('kensus-ibm-licensing-token');
      expect(secrets.has('kensus-tls'), 'something must make the webhook certificate').toBe(true);

      for (const { owner, spec } of podTemplates(all)) {
        expect(names('ServiceAccount').has(spec.serviceAccountName), `${owner} service account`).toBe(true);
        for (const vol of spec.volumes ?? []) {
          if (vol.configMap) expect(names('ConfigMap').has(vol.configMap.name), `${owner} volume ${vol.name}`).toBe(true);
          if (vol.persistentVolumeClaim) expect(names('PersistentVolumeClaim').has(vol.persistentVolumeClaim.claimName), `${owner} volume ${vol.name}`).toBe(true);
          if (vol.secret) expect(secrets.has(vol.secret.secretName), `${owner} volume ${vol.name}`).toBe(true);
        }
        for (const c of containers(spec)) {
          expect(c.image, owner).toBe(IMAGE);
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.configMapKeyRef;
            if (ref) expect(names('ConfigMap').has(ref.name), `${owner} env ${e.name}`).toBe(true);
            if (e.valueFrom?.secretKeyRef) expect(secrets.has(e.valueFrom.secretKeyRef.name), `${owner} env ${e.name}`).toBe(true);
          }
          const sc = c.securityContext ?? {};
          expect(sc.readOnlyRootFilesystem, `${owner} read-only root`).toBe(true);
          expect(sc.allowPrivilegeEscalation, `${owner} no privilege escalation`).toBe(false);
          expect(sc.privileged ?? false, `${owner} not privileged`).toBe(false);
          expect(sc.capabilities?.drop, `${owner} drops every capability`).toEqual(['ALL']);
          // The read-only root filesystem: what kensus writes goes to volumes.
          const mounts = new Map<string, K>((c.volumeMounts ?? []).map((m: K) => [m.mountPath, m]));
          if (!owner.endsWith('kensus-webhook-cert')) {
            for (const path of ['/var/cache', '/tmp']) {
              const m = mounts.get(path);
              expect(m, `${owner} mounts ${path}`).toBeDefined();
              expect(spec.volumes.find((x: K) => x.name === m!.name)?.emptyDir, `${owner} ${path} is an emptyDir`).toBeDefined();
            }
          }
          for (const m of c.volumeMounts ?? []) {
            const vol = spec.volumes.find((x: K) => x.name === m.name);
            if (vol?.hostPath) expect(m.readOnly, `${owner} host mount ${m.mountPath} read-only`).toBe(true);
          }
        }
        expect(spec.securityContext?.seccompProfile?.type, `${owner} seccomp`).toBe('RuntimeDefault');
        if (owner !== 'DaemonSet/kensus-agent') {
          expect(spec.securityContext?.runAsNonRoot, `${owner} non-root`).toBe(true);
          expect(spec.hostPID ?? false).toBe(false);
          expect((spec.volumes ?? []).filter((x: K) => x.hostPath), `${owner} no host paths`).toEqual([]);
        }
      }
      // pods/exec only where components/exec is.
      const execRules = all.filter((o) => o.kind.endsWith('Role')).flatMap((o) => o.rules ?? []).filter((r: K) => r.resources.includes('pods/exec'));
      expect(execRules.length > 0).toBe((v.components ?? []).includes('exec'));
    });
  }
});

describe('the embedded SQLite overlay', () => {
  it('runs one serve replica on a claim the base creates, replaced with Recreate', () => {
    const all = objs('sqlite');
    const serve = find(all, 'Deployment', 'kensus')!;
    expect(serve.spec.replicas).toBe(1);
    expect(serve.spec.strategy.type).toBe('Recreate');
    expect(argsOf(serve)).toContain('--store=sqlite:/var/lib/kensus/kensus.db');
    const spec = serve.spec.template.spec;
    const mount = spec.containers[0].volumeMounts.find((m: K) => m.mountPath === '/var/lib/kensus');
    const claim = spec.volumes.find((x: K) => x.name === mount.name).persistentVolumeClaim.claimName;
    expect(find(all, 'PersistentVolumeClaim', claim)?.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(find(all, 'DaemonSet', 'kensus-agent')).toBeUndefined();
  });

  it('writes every format into a dated folder on the reports claim, kept two years', () => {
    const all = objs('sqlite');
    const cron = find(all, 'CronJob', 'kensus-reports')!;
    const spec = cron.spec.jobTemplate.spec.template.spec;
    const c = spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: K) => [e.name, e.value]));
    expect(env.KENSUS_FORMATS.split(' ').sort()).toEqual(['csv', 'cyclonedx', 'json', 'ndi', 'table']);
    const script: string = c.args[0];
    expect(script).toMatch(/run="\$\(date -u \+%Y-%m-%dT%H%M%SZ\)"/);
    expect(script).toMatch(/kensus scan cluster --format "\$format" --output-file "\$out"/);
    expect(script).toMatch(/-mtime \+730/);
    const syntax = spawnSync('sh', ['-n', '-c', script], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const reports = c.volumeMounts.find((m: K) => m.mountPath === '/reports');
    expect(find(all, 'PersistentVolumeClaim', spec.volumes.find((x: K) => x.name === reports.name).persistentVolumeClaim.claimName)).toBeDefined();
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
  });

  it('certificate: cert-manager with CA injection from the Certificate that fills kensus-tls', () => {
    const all = objs('sqlite');
    const cert = find(all, 'Certificate', 'kensus-serving')!;
    expect(cert.spec.secretName).toBe('kensus-tls');
    expect(cert.spec.dnsNames).toEqual(['kensus.kensus-system.svc', 'kensus.kensus-system.svc.cluster.local']);
    expect(find(all, 'Issuer', cert.spec.issuerRef.name)).toBeDefined();
    const hook = find(all, 'ValidatingWebhookConfiguration', 'kensus-precheck')!;
    expect(hook.metadata.annotations['cert-manager.io/inject-ca-from']).toBe('kensus-system/kensus-serving');
    expect(hook.webhooks[0].clientConfig.service).toEqual({ name: 'kensus', namespace: 'kensus-system', path: '/validate' });
    expect(hook.webhooks[0].failurePolicy).toBe('Ignore');
    expect(find(all, 'Service', 'kensus')).toBeDefined();
  });
});

describe('the PostgreSQL overlay', () => {
  it('runs a node agent on every node, reading only what it needs from the host', () => {
    const all = objs('postgres');
    const ds = find(all, 'DaemonSet', 'kensus-agent')!;
    const spec = ds.spec.template.spec;
    const c = spec.containers[0];
    expect(c.args).toEqual(['agent', '--node=$(NODE_NAME)', '--store=$(KENSUS_STORE_URL)']);
    expect(c.env.find((e: K) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(spec.hostPID).toBe(true);
    expect(spec.hostNetwork ?? false).toBe(false);
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.securityContext.runAsUser).toBe(0);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['SYS_PTRACE', 'DAC_READ_SEARCH'] });
    const hostPaths = spec.volumes.filter((x: K) => x.hostPath).map((x: K) => x.hostPath.path).sort();
    expect(hostPaths).toEqual(['/run/containerd', '/var/lib/containerd']);
  });

  it('sweeps in shards as an Indexed Job whose shard count agrees everywhere', () => {
    for (const name of ['postgres', 'openshift', 'postgres+monitoring+exec+pull-secret']) {
      const cron = find(objs(name), 'CronJob', 'kensus-sweep')!;
      const job = cron.spec.jobTemplate.spec;
      expect(job.completionMode).toBe('Indexed');
      const shard = job.template.spec.containers[0].args.find((a: string) => a.startsWith('--shard='));
      const m = /^--shard=\$\(JOB_COMPLETION_INDEX\)\/(\d+)$/.exec(shard);
      expect(m, shard).not.toBeNull();
      expect(job.completions).toBe(Number(m![1]));
      expect(job.parallelism).toBe(Number(m![1]));
      const index = job.template.spec.containers[0].env.find((e: K) => e.name === 'JOB_COMPLETION_INDEX');
      expect(index.valueFrom.fieldRef.fieldPath).toBe("metadata.annotations['batch.kubernetes.io/job-completion-index']");
    }
  });

  it('points serve, agent and sweep at one store URL without a password, and drops the SQLite claim', () => {
    const all = objs('postgres');
    const store = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('kensus-store-'))!;
    expect(store.data.url).toMatch(/^postgres:\/\/[^:@/]+@[^/]+:\d+\/\w+$/);
    for (const [kind, name] of [['Deployment', 'kensus'], ['DaemonSet', 'kensus-agent'], ['CronJob', 'kensus-sweep']]) {
      const o = find(all, kind, name)!;
      const spec = kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
      const env = spec.containers[0].env;
      expect(env.find((e: K) => e.name === 'KENSUS_STORE_URL').valueFrom.configMapKeyRef.name).toBe(store.metadata.name);
      expect(env.find((e: K) => e.name === 'PGPASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'kensus-postgres', key: 'password' });
      expect(argsOf(o)).toContain('--store=$(KENSUS_STORE_URL)');
    }
    expect(find(all, 'PersistentVolumeClaim', 'kensus-data')).toBeUndefined();
    const serve = find(all, 'Deployment', 'kensus')!;
    expect(serve.spec.replicas).toBe(2);
    expect(argsOf(serve)).toContain('--no-sweep');
    expect(serve.spec.template.spec.volumes.map((x: K) => x.name)).not.toContain('data');
  });

  it('adds --exec and the pull secret to both sweeps with the components', () => {
    const all = objs('postgres+monitoring+exec+pull-secret');
    expect(argsOf(find(all, 'CronJob', 'kensus-sweep')!)).toEqual(expect.arrayContaining(['--exec', '--pull-secret=/var/run/secrets/kensus/pull/.dockerconfigjson']));
    const reports = find(all, 'CronJob', 'kensus-reports')!.spec.jobTemplate.spec.template.spec;
    const env = Object.fromEntries(reports.containers[0].env.map((e: K) => [e.name, e.value]));
    expect(env).toMatchObject({ KENSUS_EXEC: 'true', KENSUS_PULL_SECRET: '/var/run/secrets/kensus/pull/.dockerconfigjson' });
    expect(reports.volumes.find((x: K) => x.name === 'pull-secret').secret.secretName).toBe('kensus-pull-secret');
  });
});

describe('the OpenShift overlay', () => {
  it('grants the agent an SCC with exactly its privileges, and lets restricted-v2 pick the others\' user ids', () => {
    const all = objs('openshift');
    const scc = find(all, 'SecurityContextConstraints', 'kensus-agent')!;
    const agent = find(all, 'DaemonSet', 'kensus-agent')!.spec.template.spec;
    expect(scc.allowHostPID).toBe(agent.hostPID);
    expect(scc.allowPrivilegedContainer).toBe(false);
    expect(scc.allowHostNetwork).toBe(false);
    expect(scc.allowedCapabilities).toEqual(agent.containers[0].securityContext.capabilities.add);
    expect(scc.requiredDropCapabilities).toEqual(['ALL']);
    expect(scc.readOnlyRootFilesystem).toBe(true);
    expect(agent.securityContext.seLinuxOptions).toEqual({ type: 'spc_t' });
    const binding = find(all, 'RoleBinding', 'kensus-agent-scc')!;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: agent.serviceAccountName, namespace: 'kensus-system' }]);
    expect(find(all, 'ClusterRole', binding.roleRef.name)!.rules).toEqual([
      { apiGroups: ['security.openshift.io'], resources: ['securitycontextconstraints'], resourceNames: ['kensus-agent'], verbs: ['use'] },
    ]);
    for (const { owner, spec } of podTemplates(all)) {
      if (owner === 'DaemonSet/kensus-agent') continue;
      expect(spec.securityContext.runAsUser, owner).toBeUndefined();
      expect(spec.securityContext.fsGroup, owner).toBeUndefined();
    }
  });
});

describe('components/monitoring', () => {
  const monitoring = () => objs('sqlite+monitoring+exec+pull-secret');

  it('scrapes /metrics over TLS checked against the webhook certificate\'s CA', () => {
    const sm = find(monitoring(), 'ServiceMonitor', 'kensus')!;
    const svc = find(monitoring(), 'Service', 'kensus')!;
    expect(sm.spec.selector.matchLabels).toEqual(svc.spec.selector);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: svc.spec.ports[0].name, path: '/metrics', scheme: 'https', tlsConfig: { serverName: 'kensus.kensus-system.svc', ca: { secret: { name: 'kensus-tls', key: 'ca.crt' } } } });
  });

  it('ships the alert rules of deploy/prometheus as a PrometheusRule, and promtool passes them', () => {
    const rule = find(monitoring(), 'PrometheusRule', 'kensus')!;
    const plain = parse(readFileSync(join(REPO, 'deploy', 'prometheus', 'kensus-rules.yml'), 'utf8'));
    expect(rule.spec).toEqual(plain);
    // promtool on the rendered object's rules, with the unit tests of the plain file.
    const dir = mkdtempSync(join(tmpdir(), 'kensus-promrule-'));
    writeFileSync(join(dir, 'kensus-rules.yml'), JSON.stringify(rule.spec));
    writeFileSync(join(dir, 'kensus-rules.test.yml'), readFileSync(join(REPO, 'deploy', 'prometheus', 'kensus-rules.test.yml')));
    const check = spawnSync('/usr/bin/promtool', ['check', 'rules', 'kensus-rules.yml'], { cwd: dir, encoding: 'utf8' });
    expect(check.status, `promtool (apt-get install prometheus): ${check.stdout}${check.stderr}${check.error ?? ''}`).toBe(0);
    const test = spawnSync('/usr/bin/promtool', ['test', 'rules', 'kensus-rules.test.yml'], { cwd: dir, encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain('SUCCESS');
  });
});

/**
 * Commands and flags of the manifests that the CLI of this branch does not have yet: their code
 * is being written for other issues (CONTRACT.md names them). The test fails as soon as one
 * exists, so this list only shrinks.
 */
const PENDING: Record<string, string> = {
};

/** The kensus command words and flags each workload runs (the reports CronJob's from its script). */
function invocations(all: K[]): { owner: string; command: string; flags: string[] }[] {
  const out: { owner: string; command: string; flags: string[] }[] = [];
  for (const { owner, spec } of podTemplates(all)) {
    const c = spec.containers[0];
    if (c.command?.[0] === 'node') continue; // the certificate Job's script (test/deploy/rbac.test.ts runs it)
    if (c.command?.[0] === '/bin/sh') {
      for (const m of (c.args[0] as string).matchAll(/kensus ((?:[a-z]+ )+)((?:[^\n]|\\\n)*)/g)) {
        out.push({ owner, command: m[1].trim(), flags: [...m[2].matchAll(/(--[a-z-]+)/g)].map((f) => f[1]) });
      }
      continue;
    }
    const words = c.args.filter((a: string) => !a.startsWith('-'));
    out.push({ owner, command: words.join(' '), flags: c.args.filter((a: string) => a.startsWith('--')).map((a: string) => a.split('=')[0]) });
  }
  return out;
}

describe('the CLI the manifests run', () => {
  const help = new Map<string, { code: number | null; text: string }>();
  const helpOf = (command: string) => {
    if (!help.has(command)) {
      const r = spawnSync(process.execPath, [join(REPO, 'bin', 'kensus.js'), ...command.split(' '), '--help'], { encoding: 'utf8' });
      // commander prints the program's help for an unknown command: it exists when its own usage line is there.
      const text = r.stdout + r.stderr;
      help.set(command, { code: r.status === 0 && text.includes(`Usage: kensus ${command}`) ? 0 : 1, text });
    }
    return help.get(command)!;
  };

  it('has every command and flag the workloads use, or they are pending other issues', () => {
    const seen = new Set<string>();
    for (const v of VARIANTS) {
      for (const { owner, command, flags } of invocations(objs(v.name))) {
        const h = helpOf(command);
        if (PENDING[command]) {
          expect(h.code, `${owner}: \`kensus ${command}\` exists now: remove it from PENDING`).not.toBe(0);
          seen.add(command);
          continue;
        }
        expect(h.code, `${owner}: kensus ${command} --help: ${h.text}`).toBe(0);
        for (const flag of flags) {
          const key = `${command} ${flag}`;
          const has = new RegExp(`(^|[\\s,])${flag}([\\s=<\\[]|$)`, 'm').test(h.text);
          if (PENDING[key]) {
            expect(has, `${owner}: kensus ${key} exists now: remove it from PENDING`).toBe(false);
            seen.add(key);
          } else expect(has, `${owner}: kensus ${command} has no ${flag}`).toBe(true);
        }
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(PENDING).sort());
  });
});
