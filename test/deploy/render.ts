import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { requireBinary } from '../support/daemons.js';
import type { Rule } from '../cluster/auth.js';

/** Renders kustomizations of deploy/kubernetes with the machine's `kubectl kustomize`, as users do. */

export const REPO = resolve(import.meta.dirname, '..', '..');
export const KUSTOMIZE_ROOT = join(REPO, 'deploy', 'kubernetes');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K = Record<string, any>;

export interface Variant {
  name: string;
  /** An overlay (or the base) under deploy/kubernetes. */
  from: string;
  /** Components added on top, under deploy/kubernetes/components. */
  components?: string[];
}

/** What the tests render: each overlay as shipped, and each with every optional component. */
export const VARIANTS: Variant[] = [
  { name: 'sqlite', from: 'overlays/sqlite' },
  { name: 'postgres', from: 'overlays/postgres' },
  { name: 'openshift', from: 'overlays/openshift' },
  { name: 'sqlite+monitoring+exec+pull-secret', from: 'overlays/sqlite', components: ['monitoring', 'exec', 'pull-secret'] },
  { name: 'postgres+monitoring+exec+pull-secret', from: 'overlays/postgres', components: ['monitoring', 'exec', 'pull-secret'] },
  { name: 'openshift+exec', from: 'overlays/openshift', components: ['exec'] },
  { name: 'base+self-signed-cert', from: 'base', components: ['self-signed-cert'] },
  { name: 'sqlite+ibm-license-service', from: 'overlays/sqlite', components: ['ibm-license-service'] },
];

function run(args: string[]): Promise<string> {
  const kubectl = requireBinary('kubectl', 'kubectl');
  return new Promise((res, rej) => {
    execFile(kubectl, args, { maxBuffer: 64 << 20, env: { ...process.env, HOME: tmpdir() } }, (err, stdout, stderr) => {
      if (err) rej(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
      else res(stdout);
    });
  });
}

/** The directory to render for a variant: the overlay itself, or a temp kustomization adding components to it. */
export function variantDir(v: Variant): string {
  const from = join(KUSTOMIZE_ROOT, v.from);
  if (!v.components?.length) return from;
  const dir = mkdtempSync(join(tmpdir(), 'kensus-kustomize-'));
  // kustomize takes relative paths only.
  const rel = (p: string) => relative(dir, p);
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel(from)}\ncomponents:\n${v.components.map((c) => `  - ${rel(join(KUSTOMIZE_ROOT, 'components', c))}`).join('\n')}\n`,
  );
  return dir;
}

export async function renderYaml(v: Variant): Promise<string> {
  return run(['kustomize', variantDir(v)]);
}

export function parseObjects(yamlText: string): K[] {
  return parseAllDocuments(yamlText).map((d) => d.toJSON()).filter((o): o is K => o !== null && typeof o === 'object');
}

export async function render(v: Variant): Promise<K[]> {
  return parseObjects(await renderYaml(v));
}

export const find = (objs: K[], kind: string, name: string): K | undefined => objs.find((o) => o.kind === kind && o.metadata?.name === name);

/** The pod templates of the workloads, with the workload they belong to. */
export function podTemplates(objs: K[]): { owner: string; spec: K }[] {
  const out: { owner: string; spec: K }[] = [];
  for (const o of objs) {
    const owner = `${o.kind}/${o.metadata.name}`;
    if (['Deployment', 'DaemonSet', 'StatefulSet', 'Job'].includes(o.kind)) out.push({ owner, spec: o.spec.template.spec });
    if (o.kind === 'CronJob') out.push({ owner, spec: o.spec.jobTemplate.spec.template.spec });
  }
  return out;
}

/**
 * The permissions a service account gets from the rendered RBAC objects, as the test API
 * server's rules: a ClusterRoleBinding grants its ClusterRole everywhere, a RoleBinding its
 * (Cluster)Role in the binding's namespace.
 */
export function rulesFor(objs: K[], namespace: string, serviceAccount: string): Rule[] {
  const rules: Rule[] = [];
  for (const b of objs.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const bound = (b.subjects ?? []).some((s: K) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === namespace);
    if (!bound) continue;
    const role = objs.find((o) => o.kind === b.roleRef.kind && o.metadata.name === b.roleRef.name && (o.kind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace));
    if (!role) throw new Error(`${b.kind}/${b.metadata.name} refers to ${b.roleRef.kind}/${b.roleRef.name}, which is not rendered`);
    for (const r of role.rules ?? []) {
      rules.push({
        verbs: r.verbs, resources: r.resources, apiGroups: r.apiGroups,
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
        ...(b.kind === 'RoleBinding' ? { namespaces: [b.metadata.namespace] } : {}),
      });
    }
  }
  return rules;
}
