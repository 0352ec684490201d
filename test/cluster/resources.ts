/** The resource types the server serves: what discovery lists and what the router accepts. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  /** Subresources served, e.g. `exec`, `status`. */
  subresources?: string[];
  /** Field selectors the list endpoint accepts besides metadata.name/namespace. */
  fieldSelectors?: string[];
  /** Extra table columns (CRD additionalPrinterColumns). */
  printerColumns?: { name: string; type: string; jsonPath: string; priority?: number; description?: string }[];
  /** Set for resources defined by a CRD, so they disappear with it. */
  crd?: string;
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const RO = ['get', 'list', 'watch'];

export function builtinResources(): ResourceType[] {
  const t = (group: string, version: string, plural: string, kind: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType => ({
    group, version, plural, kind, namespaced, singular: kind.toLowerCase(), verbs: RW, ...extra,
  });
  return [
    t('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], fieldSelectors: ['status.phase'] }),
    t('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], fieldSelectors: ['spec.unschedulable'] }),
    t('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], categories: ['all'], subresources: ['exec', 'status', 'log'],
      fieldSelectors: ['spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP', 'status.nominatedNodeName'] }),
    t('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], categories: ['all'] }),
    t('', 'v1', 'secrets', 'Secret', true, { fieldSelectors: ['type'] }),
    t('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
    t('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
    // Stored only (no volume provisioning): the deploy/ manifests create claims for reports and the store.
    t('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'] }),
    t('', 'v1', 'events', 'Event', true, { shortNames: ['ev'], fieldSelectors: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'] }),
    t('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], categories: ['all'] }),
    t('apps', 'v1', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'], categories: ['all'] }),
    t('apps', 'v1', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'], categories: ['all'] }),
    t('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], categories: ['all'] }),
    t('batch', 'v1', 'jobs', 'Job', true, { categories: ['all'] }),
    t('batch', 'v1', 'cronjobs', 'CronJob', true, { shortNames: ['cj'], categories: ['all'] }),
    t('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, { shortNames: ['crd', 'crds'] }),
    t('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false),
    // Stored only, not enforced (tokens carry their own rules, see auth.ts): deploy/ applies its roles here.
    t('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
    t('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
    t('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
    t('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
    t('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, { verbs: ['create'] }),
    t('authorization.k8s.io', 'v1', 'subjectaccessreviews', 'SubjectAccessReview', false, { verbs: ['create'] }),
    t('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', false, { verbs: ['create'] }),
  ];
}

export const readOnlyVerbs = RO;

export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** Mutable registry: CRDs add and remove types at run time. */
export class Registry {
  private types: ResourceType[] = builtinResources();

  all(): ResourceType[] {
    return [...this.types];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** Any served version of a group/plural (storage is per group/plural, not per version). */
  findAnyVersion(group: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.plural === plural);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  groupVersions(): { group: string; versions: string[] }[] {
    const out = new Map<string, string[]>();
    for (const t of this.types) {
      const v = out.get(t.group) ?? [];
      if (!v.includes(t.version)) v.push(t.version);
      out.set(t.group, v);
    }
    return [...out].map(([group, versions]) => ({ group, versions }));
  }

  addCrdTypes(crdName: string, types: ResourceType[]): void {
    this.removeCrdTypes(crdName);
    this.types.push(...types.map((t) => ({ ...t, crd: crdName })));
  }

  removeCrdTypes(crdName: string): void {
    this.types = this.types.filter((t) => t.crd !== crdName);
  }
}

/** Types a CRD object declares (served versions only). */
export function typesFromCrd(crd: Record<string, any>): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  return (spec.versions ?? []).filter((v: any) => v.served !== false).map((v: any) => ({
    group: spec.group,
    version: v.name,
    plural: names.plural,
    singular: names.singular ?? String(names.kind ?? '').toLowerCase(),
    kind: names.kind,
    namespaced: spec.scope !== 'Cluster',
    shortNames: names.shortNames,
    categories: names.categories,
    verbs: RW,
    subresources: v.subresources?.status ? ['status'] : [],
    printerColumns: v.additionalPrinterColumns,
  }));
}
