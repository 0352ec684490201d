/** The parts of a Kubernetes object that carry a pod template, whatever its kind. */
export interface PodTemplateView {
  annotations: Record<string, string>;
  labels: Record<string, string>;
  containers: Array<{ name: string; image: string; env: Record<string, string>; init: boolean }>;
}

type Obj = Record<string, any>;

/**
 * Finds the pod spec inside a Pod, a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * Job) or a CronJob. Returns null for objects that run no pods.
 */
export function podTemplateOf(object: Obj | null | undefined): PodTemplateView | null {
  if (!object || typeof object !== 'object') return null;
  let meta: Obj | undefined;
  let spec: Obj | undefined;
  switch (object.kind) {
    case 'Pod':
      meta = object.metadata;
      spec = object.spec;
      break;
    case 'CronJob':
      meta = object.spec?.jobTemplate?.spec?.template?.metadata;
      spec = object.spec?.jobTemplate?.spec?.template?.spec;
      break;
    default:
      meta = object.spec?.template?.metadata;
      spec = object.spec?.template?.spec;
  }
  if (!spec) return null;
  const env = (list: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    // Only literal values: valueFrom (secrets, config maps) is never read at admission.
    if (Array.isArray(list)) for (const e of list) if (e && typeof e.name === 'string' && typeof e.value === 'string') out[e.name] = e.value;
    return out;
  };
  const containers = [
    ...((spec.initContainers as Obj[] | undefined) ?? []).map((c) => ({ name: String(c.name), image: String(c.image ?? ''), env: env(c.env), init: true })),
    ...((spec.containers as Obj[] | undefined) ?? []).map((c) => ({ name: String(c.name), image: String(c.image ?? ''), env: env(c.env), init: false })),
  ];
  return { annotations: { ...(meta?.annotations ?? {}) }, labels: { ...(meta?.labels ?? {}) }, containers };
}
