import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../support/k8s.js';
import type { Rule } from '../cluster/auth.js';
import { find, render, REPO, rulesFor, VARIANTS, type K } from './render.js';
import { registerLicenseService } from '../ibm-license-service/register.js';
import { startTestLicenseService } from '../ibm-license-service/server.js';

/**
 * Least privilege, checked two ways. Statically: every permission the rendered manifests grant
 * has a row in deploy/rbac-uses.yaml naming the function that needs it, and that function really
 * calls the client-node method the row names. Dynamically: each workload's command runs against
 * the test API server as a user holding exactly its rendered rules — and fails with any one of
 * them taken away, so no rule is there for nothing.
 */

interface Use {
  file: string;
  function: string;
  call: string;
}
interface Row {
  role: string;
  apiGroup: string;
  resource: string;
  resourceNames?: string[];
  verbs: string[];
  why: string;
  uses?: Use[];
  platform?: { object: string; for: string };
}

const table: Row[] = parse(readFileSync(join(REPO, 'deploy', 'rbac-uses.yaml'), 'utf8'));
const rendered = new Map<string, K[]>();

interface Grant {
  role: string;
  apiGroup: string;
  resource: string;
  resourceNames: string[];
  verb: string;
  variant: string;
}
const grants: Grant[] = [];
const key = (g: { role: string; apiGroup: string; resource: string; resourceNames?: string[] }, verb: string) =>
  `${g.role} ${g.apiGroup || 'core'}/${g.resource} [${(g.resourceNames ?? []).join(',')}] ${verb}`;

beforeAll(async () => {
  for (const v of VARIANTS) {
    const objs = await render(v);
    rendered.set(v.name, objs);
    for (const role of objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
      for (const r of role.rules ?? []) {
        for (const apiGroup of r.apiGroups) for (const resource of r.resources) for (const verb of r.verbs) {
          grants.push({ role: `${role.kind}/${role.metadata.name}`, apiGroup, resource, resourceNames: r.resourceNames ?? [], verb, variant: v.name });
        }
      }
    }
  }
});

/** The source of a function (declaration, or a const arrow function), by brace matching outside strings and comments. */
function functionBody(source: string, name: string): string | undefined {
  const start = new RegExp(`(?:function\\s+${name}\\s*[(<]|(?:const|let)\\s+${name}\\s*=)`).exec(source);
  if (!start) return undefined;
  let i = source.indexOf('{', start.index);
  // A const arrow function's body, or a declaration's: skip the parameter list's braces (destructuring, types).
  const paren = source.indexOf('(', start.index);
  if (paren !== -1 && paren < i) {
    let depth = 0;
    for (let j = paren; j < source.length; j++) {
      if (source[j] === '(') depth++;
      else if (source[j] === ')' && --depth === 0) {
        i = source.indexOf('{', j);
        break;
      }
    }
  }
  let depth = 0;
  for (let j = i; j < source.length; j++) {
    const c = source[j];
    if (c === '"' || c === "'" || c === '`') {
      for (j++; j < source.length && source[j] !== c; j++) if (source[j] === '\\') j++;
    } else if (c === '/' && source[j + 1] === '/') j = source.indexOf('\n', j);
    else if (c === '/' && source[j + 1] === '*') j = source.indexOf('*/', j) + 1;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return source.slice(start.index, j + 1);
  }
  return undefined;
}

describe('deploy/rbac-uses.yaml', () => {
  it('has a row for every permission any overlay or component grants, and no row that grants nothing', () => {
    const granted = new Set(grants.map((g) => key(g, g.verb)));
    const listed = new Set(table.flatMap((row) => row.verbs.map((v) => key(row, v))));
    expect([...granted].filter((k) => !listed.has(k)), 'granted, but deploy/rbac-uses.yaml names no code that uses it').toEqual([]);
    expect([...listed].filter((k) => !granted.has(k)), 'in deploy/rbac-uses.yaml, but no manifest grants it').toEqual([]);
  });

  it('names for each permission a function that really makes that API call', () => {
    for (const row of table) {
      expect(row.why, key(row, row.verbs.join(','))).toBeTruthy();
      if (row.platform) continue; // checked below
      expect(row.uses?.length, `${key(row, row.verbs.join(','))}: no use`).toBeGreaterThan(0);
      for (const use of row.uses!) {
        const path = join(REPO, use.file);
        expect(existsSync(path), `${use.file} (for ${key(row, row.verbs.join(','))}) does not exist`).toBe(true);
        const body = functionBody(readFileSync(path, 'utf8'), use.function);
        expect(body, `${use.file} has no function ${use.function}`).toBeDefined();
        expect(body!, `${use.file} ${use.function} does not call ${use.call}`).toMatch(new RegExp(`\\b${use.call}\\(`));
      }
    }
  });

  it('names, for a permission the platform checks, the object it is for and the workload that needs it', () => {
    for (const row of table.filter((r) => r.platform)) {
      const variants = [...new Set(grants.filter((g) => g.role === row.role).map((g) => g.variant))];
      expect(variants.length).toBeGreaterThan(0);
      for (const v of variants) {
        const objs = rendered.get(v)!;
        const [kind, name] = row.platform!.object.split('/');
        expect(find(objs, kind, name), `${row.platform!.object} in ${v}`).toBeDefined();
        expect(row.resourceNames).toEqual([name]);
        const [wkind, wname] = row.platform!.for.split('/');
        const sa = find(objs, wkind, wname)!.spec.template.spec.serviceAccountName;
        const [rkind, rname] = row.role.split('/');
        const bound = objs.some((b) => b.kind.endsWith('Binding') && b.roleRef.kind === rkind && b.roleRef.name === rname && b.subjects.some((s: K) => s.name === sa));
        expect(bound, `${row.role} bound to ${sa} in ${v}`).toBe(true);
      }
    }
  });
});

describe('the rendered roles', () => {
  it('grant no wildcard, Secrets only by name or as a create in the kensus namespace, pods/exec only with components/exec', () => {
    for (const g of grants) {
      expect([g.verb, g.resource, g.apiGroup], key(g, g.verb)).not.toContain('*');
      if (g.resource === 'secrets') {
        expect(g.role.startsWith('Role/'), `${key(g, g.verb)}: Secrets through a namespaced Role only`).toBe(true);
        if (g.verb !== 'create') expect(g.resourceNames.length, `${key(g, g.verb)}: by name`).toBeGreaterThan(0);
      }
      if (g.resource === 'pods/exec') expect(g.variant).toMatch(/\bexec\b/);
    }
  });

  it('give each workload its own service account', () => {
    for (const [name, objs] of rendered) {
      const accounts = new Map<string, string[]>();
      for (const o of objs.filter((x) => ['Deployment', 'DaemonSet', 'CronJob', 'Job'].includes(x.kind))) {
        const spec = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
        accounts.set(spec.serviceAccountName, [...(accounts.get(spec.serviceAccountName) ?? []), `${o.kind}/${o.metadata.name}`]);
      }
      for (const [sa, users] of accounts) {
        // The two sweeps (reports and sharded) run the same scan and share one account.
        const sweeps = users.every((u) => u === 'CronJob/kensus-reports' || u === 'CronJob/kensus-sweep');
        expect(users.length === 1 || sweeps, `${name}: ${sa} is used by ${users.join(', ')}`).toBe(true);
      }
    }
  });
});

// ---------- dynamic: the commands under exactly their rules ----------

let cluster: TestCluster;
const dir = mkdtempSync(join(tmpdir(), 'kensus-rbac-'));

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

let users = 0;
/** A kubeconfig context for a new user with these rules. */
function userWith(rules: Rule[]): string {
  const name = `rbac-${++users}`;
  cluster.addUser(name, rules);
  return name;
}

/** The CLI as a child process (asynchronously: the test API server runs in this process). */
function kensus(args: string[], timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [join(REPO, 'bin', 'kensus.js'), ...args], timeoutMs);
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, KENSUS_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** One rule per verb, so that each can be taken away alone. */
const explode = (rules: Rule[]): Rule[] => rules.flatMap((r) => r.verbs.map((v) => ({ ...r, verbs: [v] })));
const without = (rules: Rule[], i: number) => rules.filter((_, j) => j !== i);

describe('the sweeps (kensus scan cluster) as kensus-sweep', () => {
  it('read the cluster with its rules, and fail without any one of them', async () => {
    const rules = explode(rulesFor(rendered.get('sqlite')!, 'kensus-system', 'kensus-sweep'));
    expect(rules.length).toBeGreaterThan(0);
    const ok = await kensus(['scan', 'cluster', '--metadata-only', '--format', 'json', '--kubeconfig', cluster.kubeconfigPath, '--context', userWith(rules)]);
    expect(ok.status, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report.nodes.length).toBeGreaterThan(0);
    expect(report.containers.length).toBeGreaterThan(0);
    for (let i = 0; i < rules.length; i++) {
      const r = await kensus(['scan', 'cluster', '--metadata-only', '--format', 'json', '--kubeconfig', cluster.kubeconfigPath, '--context', userWith(without(rules, i))]);
      expect(r.status, `without ${JSON.stringify(rules[i])}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`forbidden: .*${rules[i].verbs[0]} ${rules[i].resources[0]}`));
    }
  });

  it('exec into running containers with components/exec, and only then', async () => {
    const withExec = rulesFor(rendered.get('sqlite+monitoring+exec+pull-secret')!, 'kensus-system', 'kensus-sweep');
    const plain = rulesFor(rendered.get('sqlite')!, 'kensus-system', 'kensus-sweep');
    expect(withExec.length).toBe(plain.length + 1);
    const methods = async (context: string) => {
      const r = await kensus(['scan', 'cluster', '--exec', '--timeout', '60', '--format', 'json', '--kubeconfig', cluster.kubeconfigPath, '--context', context]);
      expect(r.status, r.stderr).toBe(0);
      return [...new Set(JSON.parse(r.stdout).containers.map((c: K) => c.method))];
    };
    expect(await methods(userWith(withExec))).toEqual(['exec']);
    expect(await methods(userWith(plain))).toEqual(['image']);
  });
});

describe('kensus serve as kensus-serve', () => {
  interface Served { url: string; stderr: () => string; stop: () => void }
  /** serve as the base deploys it: a store (so it sweeps, then watches pods) and --api-auth=kubernetes. */
  async function startServe(rules: Rule[], db: string): Promise<Served> {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'kensus.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--metadata-only', '--interval', '1h', '--api-auth', 'kubernetes',
      '--store', `sqlite:${join(dir, db)}`, '--kubeconfig', cluster.kubeconfigPath, '--context', userWith(rules), '--cache-dir', join(dir, 'cache')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
      child.stderr.on('data', () => {
        const m = /serving on (http\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    }).catch((e) => {
      child.kill('SIGKILL');
      throw e;
    });
    return { url, stderr: () => err, stop: () => child.kill('SIGTERM') };
  }

  /** The report as a reader (a user holding exactly ClusterRole kensus-reader) reads it, once the first sweep is in. */
  async function readReport(served: Served, readerToken: string): Promise<{ status: number; report?: K; message?: string }> {
    let status = 0;
    let message: string | undefined;
    // The sweep's report is there only once the pod watch has started (or failed to); until then 503 or 404.
    for (let i = 0; i < 150; i++) {
      const res = await fetch(`${served.url}/api/v1/report`, { headers: { authorization: `Bearer ${readerToken}` } });
      status = res.status;
      if (status === 200) return { status, report: (await res.json()) as K };
      message = ((await res.json().catch(() => ({}))) as K).message;
      if ((status !== 503 && status !== 404) || /cannot check the token/.test(message ?? '')) return { status, message };
      await new Promise((r) => setTimeout(r, 200));
    }
    return { status, message };
  }

  const serveRules = () => rulesFor(rendered.get('sqlite')!, 'kensus-system', 'kensus-serve');
  const readerToken = () => {
    const role = find(rendered.get('sqlite')!, 'ClusterRole', 'kensus-reader')!;
    return cluster.addUser(`reader-${++users}`, role.rules.map((r: K) => ({ verbs: r.verbs, resources: r.resources, apiGroups: r.apiGroups })));
  };

  it('sweeps, watches pods and lets a kensus-reader read the report, with exactly its rules', async () => {
    const served = await startServe(serveRules(), 'serve.db');
    try {
      const { status, report } = await readReport(served, readerToken());
      expect(status, served.stderr()).toBe(200);
      expect(report!.nodes.length).toBeGreaterThan(0);
      expect(report!.errors).toEqual([]);
      expect(served.stderr()).not.toMatch(/pod watch/);
      // A user without the reader role is turned away.
      const stranger = await fetch(`${served.url}/api/v1/report`, { headers: { authorization: `Bearer ${cluster.addUser(`stranger-${++users}`, [])}` } });
      expect(stranger.status).toBe(403);
    } finally {
      served.stop();
    }
  });

  it('needs each rule: without watch the pod watch fails and says so; without a review no reader gets in', async () => {
    const rules = explode(serveRules());
    const dropping = (verb: string, resource: string) => {
      const kept = rules.filter((r) => !(r.verbs[0] === verb && r.resources[0] === resource));
      expect(kept.length, `${verb} ${resource} is one of serve's rules`).toBe(rules.length - 1);
      return kept;
    };
    let served = await startServe(dropping('watch', 'pods'), 'serve-nowatch.db');
    try {
      expect((await readReport(served, readerToken())).status).toBe(200);
      expect(served.stderr()).toMatch(/pod watch forbidden \(watch pods\)/);
    } finally {
      served.stop();
    }
    for (const resource of ['tokenreviews', 'subjectaccessreviews']) {
      served = await startServe(dropping('create', resource), `serve-no-${resource}.db`);
      try {
        const r = await readReport(served, readerToken());
        expect([r.status, r.message], `without create ${resource}`).toEqual([503, expect.stringMatching(/cannot check the token now/)]);
      } finally {
        served.stop();
      }
    }
  });
});

describe('the IBM License Service discovery (components/ibm-license-service) as kensus-serve', () => {
  it('finds the License Service with its rules, and fails naming the call without any one of them', async () => {
    const ls = await startTestLicenseService();
    try {
      await registerLicenseService(cluster, ls);
      const objs = rendered.get('sqlite+ibm-license-service')!;
      const args = find(objs, 'Deployment', 'kensus')!.spec.template.spec.containers[0].args as string[];
      expect(args).toEqual(expect.arrayContaining(['--ibm-license-service', '--ibm-license-service-token-file=/var/run/secrets/kensus/ibm-licensing/token']));
      const component = explode(rulesFor(objs, 'kensus-system', 'kensus-serve')).filter((r) => !rulesFor(rendered.get('sqlite')!, 'kensus-system', 'kensus-serve').some((b) => b.resources.includes(r.resources[0]) && b.verbs.includes(r.verbs[0]) && JSON.stringify(b.apiGroups) === JSON.stringify(r.apiGroups)));
      expect(component.map((r) => `${r.verbs[0]} ${r.resources[0]}`).sort()).toEqual(['get customresourcedefinitions', 'list ibmlicensings', 'list services']);
      const tokenFile = join(dir, 'ils-token');
      writeFileSync(tokenFile, `${ls.token}\n`);
      const collect = (rules: Rule[], out: string) => kensus(['ibm-license-service', 'collect', '--token-file', tokenFile, '--output-dir', join(dir, out), '--cluster-id', 'rbac-test',
        '--now', '2022-06-30T10:00:00Z', '--format', 'json', '--kubeconfig', cluster.kubeconfigPath, '--context', userWith(rules)]);
      const ok = await collect(component, 'ils-ok');
      expect(ok.status, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).discovered).toEqual(expect.arrayContaining(['serviceName', 'servicePort']));
      for (let i = 0; i < component.length; i++) {
        const r = await collect(without(component, i), `ils-${i}`);
        expect(r.status, `without ${JSON.stringify(component[i])}: ${r.stderr}`).not.toBe(0);
        expect(r.stderr).toMatch(new RegExp(`forbidden.*${component[i].verbs[0]}`, 'i'));
      }
    } finally {
      await ls.stop();
    }
  });
});

describe('the certificate Job (deploy/webhook-cert.mjs) as kensus-webhook-cert', () => {
  const objs = () => rendered.get('base+self-signed-cert')!;
  const script = join(REPO, 'deploy', 'webhook-cert.mjs');
  const runCert = (context: string, extra: string[] = []) =>
    run(process.execPath, [script, '--namespace', 'kensus-system', '--kubeconfig', cluster.kubeconfigPath, '--context', context, ...extra]);
  const singular: Record<string, string> = { secrets: 'secret', validatingwebhookconfigurations: 'validatingwebhookconfiguration' };

  /** The objects the Job works on, as `kubectl apply -k` leaves them: the webhook without caBundle, no Secret yet. */
  async function reset(): Promise<void> {
    if (!cluster.get('v1', 'Namespace', undefined, 'kensus-system')) await cluster.create(find(objs(), 'Namespace', 'kensus-system')!);
    if (cluster.get('v1', 'Secret', 'kensus-system', 'kensus-tls')) await cluster.delete('v1', 'Secret', 'kensus-system', 'kensus-tls');
    if (cluster.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'kensus-precheck')) {
      await cluster.delete('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'kensus-precheck');
    }
    await cluster.create(find(objs(), 'ValidatingWebhookConfiguration', 'kensus-precheck')!);
  }

  it('fails, naming the call, without any one of its rules', async () => {
    const rules = explode(rulesFor(objs(), 'kensus-system', 'kensus-webhook-cert'));
    expect(rules.map((r) => `${r.verbs[0]} ${r.resources[0]}`).sort()).toEqual([
      'create secrets', 'get secrets', 'get validatingwebhookconfigurations', 'update secrets', 'update validatingwebhookconfigurations',
    ]);
    for (let i = 0; i < rules.length; i++) {
      await reset();
      const [verb, resource] = [rules[i].verbs[0], rules[i].resources[0]];
      // Renewing is the one call that needs update on the Secret: a ten-day certificate asked to last twenty.
      const renew = verb === 'update' && resource === 'secrets';
      if (renew) expect((await runCert(userWith(rules), ['--days', '10', '--renew-days', '5'])).status).toBe(0);
      const r = await runCert(userWith(without(rules, i)), renew ? ['--renew-days', '20'] : []);
      expect(r.status, `without ${verb} ${resource}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`forbidden: ${verb} ${singular[resource]} `));
    }
  });

  it('makes the certificate, fills caBundle, keeps and renews it, and the API server then calls serve over it', async () => {
    await reset();
    const context = userWith(rulesFor(objs(), 'kensus-system', 'kensus-webhook-cert'));
    let r = await runCert(context, ['--days', '10', '--renew-days', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/secret kensus-system\/kensus-tls written .* caBundle set on 1 webhook/);
    const first = cluster.get('v1', 'Secret', 'kensus-system', 'kensus-tls')!;
    expect(first.type).toBe('kubernetes.io/tls');
    expect(Object.keys(first.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const caBundle = () => cluster.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'kensus-precheck')!.webhooks[0].clientConfig.caBundle;
    expect(caBundle()).toBe(first.data['ca.crt']);

    r = await runCert(context, ['--renew-days', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kept \(still valid\).* caBundle already current/);
    r = await runCert(context, ['--renew-days', '20']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/written .* caBundle set on 1 webhook/);
    const secret = cluster.get('v1', 'Secret', 'kensus-system', 'kensus-tls')!;
    expect(secret.data['ca.crt']).not.toBe(first.data['ca.crt']);
    expect(caBundle()).toBe(secret.data['ca.crt']);

    // kensus serve with the Secret's files; the API server calls it through the Service name with
    // the caBundle the Job wrote (the test server verifies both, as kube-apiserver does).
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(dir, f), Buffer.from(secret.data[f], 'base64'));
    const child = spawn(process.execPath, [join(REPO, 'bin', 'kensus.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--no-sweep',
      '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--cache-dir', join(dir, 'cache')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
        child.stderr.on('data', () => {
          const m = /serving on (https\S+)/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      cluster.mapService('kensus-system', 'kensus', url);
      const reviews = async () => {
        const text = await new Promise<string>((resolve, reject) => {
          https.get(`${url}/metrics`, { ca: readFileSync(join(dir, 'ca.crt')), servername: 'kensus.kensus-system.svc' }, (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve(body));
          }).on('error', reject);
        });
        return [...text.matchAll(/^kensus_admission_reviews_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      };
      const before = await reviews();
      await cluster.createPod({ metadata: { name: 'admitted', namespace: 'team-a' }, spec: { containers: [{ name: 'c', image: 'kensus-test/busybox:1', command: ['sleep', '600'] }] } }, { wait: false });
      expect(await reviews()).toBe(before + 1);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
