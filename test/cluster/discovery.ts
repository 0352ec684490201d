import { createHash } from 'node:crypto';
import { apiVersionOf, type Registry } from './resources.js';

/** Discovery documents (legacy, non-aggregated: kubectl falls back to these by Content-Type). */
export const serverVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-kensus-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupDoc(group: string, versions: string[]) {
  const vs = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(reg: Registry) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: reg.groupVersions().filter((g) => g.group !== '').map((g) => groupDoc(g.group, g.versions)),
  };
}

export function apiGroup(reg: Registry, group: string) {
  const g = reg.groupVersions().find((x) => x.group === group);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g.group, g.versions) } : undefined;
}

const SUB_KIND: Record<string, [string, string[]]> = {
  exec: ['PodExecOptions', ['create', 'get']],
  log: ['Pod', ['get']],
  status: ['', ['get', 'patch', 'update']],
};

export function apiResourceList(reg: Registry, group: string, version: string) {
  const types = reg.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const t of types) {
    const r: Record<string, unknown> = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
    if (t.shortNames?.length) r.shortNames = t.shortNames;
    if (t.categories?.length) r.categories = t.categories;
    r.storageVersionHash = createHash('sha256').update(`${t.group}/${t.plural}`).digest('base64').slice(0, 11);
    resources.push(r);
    for (const s of t.subresources ?? []) {
      const [kind, verbs] = SUB_KIND[s] ?? [t.kind, ['get']];
      resources.push({ name: `${t.plural}/${s}`, singularName: '', namespaced: t.namespaced, kind: kind || t.kind, verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

/**
 * OpenAPI v3: just enough for kubectl. Its field-validation check looks for a PATCH operation
 * tagged with the kind's x-kubernetes-group-version-kind that takes a `fieldValidation` query
 * parameter; finding it, kubectl leaves validation to the server instead of downloading the
 * protobuf OpenAPI v2 document.
 */
function gvPath(t: { group: string; version: string }): string {
  return t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`;
}

export function openapiV3Root(reg: Registry) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, versions } of reg.groupVersions()) {
    for (const version of versions) {
      const p = gvPath({ group, version });
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${openapiHash(reg, group, version)}` };
    }
  }
  return { paths };
}

function openapiHash(reg: Registry, group: string, version: string): string {
  const types = reg.all().filter((t) => t.group === group && t.version === version).map((t) => `${t.plural}:${t.kind}`);
  return createHash('sha512').update(types.join(',')).digest('hex').slice(0, 64).toUpperCase();
}

export function openapiV3GroupVersion(reg: Registry, gvp: string) {
  const types = reg.all().filter((t) => gvPath(t) === gvp);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const param = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  for (const t of types) {
    const base = t.namespaced ? `/${gvp}/namespaces/{namespace}/${t.plural}` : `/${gvp}/${t.plural}`;
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const op = (action: string) => ({
      operationId: `${action}${t.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      parameters: [param('dryRun'), param('fieldManager'), param('fieldValidation')],
      responses: { '200': { description: 'OK' } },
    });
    paths[base] = { post: op('post') };
    paths[`${base}/{name}`] = { put: op('put'), patch: op('patch') };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion.gitVersion },
    paths,
    components: { schemas: {} },
  };
}
