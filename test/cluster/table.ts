import type { ResourceType } from './resources.js';
import type { KObject } from './store.js';

/** Server-side printing (`Accept: ...;as=Table;g=meta.k8s.io`), the columns kubectl shows for `get`. */
interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell: (o: KObject) => string | number;
}

export function humanAge(ts: string | undefined, now = Date.now()): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const nameCol: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0, cell: (o) => o.metadata?.name ?? '' };
const ageCol: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp', priority: 0, cell: (o) => humanAge(o.metadata?.creationTimestamp) };

function podStatus(p: KObject): string {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  for (const cs of p.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) return cs.state.waiting.reason;
    if (cs.state?.terminated?.reason && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Running') return cs.state.terminated.reason;
  }
  return p.status?.phase ?? 'Unknown';
}

function jsonPath(o: KObject, path: string): string {
  let cur: any = o;
  for (const part of path.replace(/^\./, '').split('.')) {
    const m = /^(\w[\w-]*)(?:\[(\d+)\])?$/.exec(part);
    if (!m || cur === undefined || cur === null) return '';
    cur = cur[m[1]];
    if (m[2] !== undefined) cur = Array.isArray(cur) ? cur[Number(m[2])] : undefined;
  }
  return cur === undefined || cur === null ? '' : typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

function columnsFor(t: ResourceType): Column[] {
  switch (`${t.group}/${t.plural}`) {
    case '/pods':
      return [nameCol,
        { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', priority: 0,
          cell: (p) => `${(p.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${p.spec?.containers?.length ?? 0}` },
        { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', priority: 0, cell: podStatus },
        { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted.', priority: 0,
          cell: (p) => String((p.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0)) },
        ageCol,
        { name: 'IP', type: 'string', description: 'IP address allocated to the pod.', priority: 1, cell: (p) => p.status?.podIP ?? '<none>' },
        { name: 'Node', type: 'string', description: 'Name of the node the pod is bound to.', priority: 1, cell: (p) => p.spec?.nodeName ?? '<none>' }];
    case '/nodes':
      return [nameCol,
        { name: 'Status', type: 'string', description: 'The status of the node', priority: 0,
          cell: (n) => {
            const ready = (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
            const s = ready?.status === 'True' ? 'Ready' : 'NotReady';
            return n.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
          } },
        { name: 'Roles', type: 'string', description: 'The roles of the node', priority: 0,
          cell: (n) => Object.keys(n.metadata?.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24)).join(',') || '<none>' },
        ageCol,
        { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', priority: 0, cell: (n) => n.status?.nodeInfo?.kubeletVersion ?? '' }];
    case '/namespaces':
      return [nameCol, { name: 'Status', type: 'string', description: 'The status of the namespace', priority: 0, cell: (n) => n.status?.phase ?? 'Active' }, ageCol];
    case '/secrets':
      return [nameCol, { name: 'Type', type: 'string', description: 'The type of the secret', priority: 0, cell: (s) => s.type ?? 'Opaque' },
        { name: 'Data', type: 'string', description: 'The number of entries in the data', priority: 0, cell: (s) => String(Object.keys(s.data ?? {}).length) }, ageCol];
    default: {
      const extra = (t.printerColumns ?? []).map((c): Column => ({
        name: c.name, type: c.type === 'date' ? 'date' : c.type, description: c.description ?? '', priority: c.priority ?? 0,
        cell: (o) => (c.type === 'date' ? humanAge(jsonPath(o, c.jsonPath)) : jsonPath(o, c.jsonPath)),
      }));
      return extra.some((c) => c.name === 'Age') ? [nameCol, ...extra] : [nameCol, ...extra, ageCol];
    }
  }
}

export function toTable(t: ResourceType, items: KObject[], resourceVersion: string, includeObject: string | null, extraMeta: Record<string, unknown> = {}) {
  const cols = columnsFor(t);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion, ...extraMeta },
    columnDefinitions: cols.map(({ cell: _c, ...c }) => c),
    rows: items.map((o) => ({
      cells: cols.map((c) => c.cell(o)),
      object: includeObject === 'None' ? undefined
        : includeObject === 'Object' ? o
        : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

/** `application/json;as=Table;v=v1;g=meta.k8s.io, ...`: the first acceptable Table media type wins. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => /as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}
