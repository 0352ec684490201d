import { badInput } from '../errors.js';
import type { ClusterPod } from './model.js';

/**
 * Pod field selectors as kubectl gives them (`--field-selector spec.nodeName=gpu-1,status.phase=Running`):
 * `=`, `==` and `!=`, comma-joined, on the fields the API server supports for pods that a
 * licence audit asks about. A live cluster is given the selector itself; a snapshot is filtered
 * here, so both answer the same.
 */
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

const FIELDS: Record<string, (p: ClusterPod) => string> = {
  'metadata.name': (p) => p.name,
  'metadata.namespace': (p) => p.namespace,
  'spec.nodeName': (p) => p.nodeName ?? '',
  'status.phase': (p) => p.phase,
};

export function parseFieldSelector(text: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z.]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (!m) throw badInput(`--field-selector '${part}' is not FIELD=VALUE or FIELD!=VALUE`, 'e.g. --field-selector spec.nodeName=gpu-1');
    if (!FIELDS[m[1]]) throw badInput(`--field-selector: field label not supported: ${m[1]}`, `use one of ${Object.keys(FIELDS).join(', ')}`);
    out.push({ field: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] });
  }
  return out;
}

export function matchesFields(pod: ClusterPod, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => (FIELDS[r.field](pod) === r.value) === (r.op === '='));
}
