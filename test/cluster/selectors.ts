/**
 * Kubernetes label and field selectors: the string forms of list/watch query parameters and the
 * LabelSelector objects of webhook configurations. Unsupported syntax is reported, not ignored,
 * so a test never passes because a filter silently matched everything.
 */
export type Labels = Record<string, string> | undefined;

interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}

export type Matcher = (labels: Labels) => boolean;

export class SelectorError extends Error {}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '' || parts.length > 0) parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseRequirement(term: string): Requirement {
  let m = /^!\s*([\w./-]+)$/.exec(term);
  if (m) return { key: m[1], op: '!exists', values: [] };
  m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) };
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
  if (m) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
  m = /^([\w./-]+)$/.exec(term);
  if (m) return { key: m[1], op: 'exists', values: [] };
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
}

function matchRequirement(r: Requirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key] : undefined;
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case 'in':
      return has && r.values.includes(v!);
    case 'notin':
      return !has || !r.values.includes(v!);
  }
}

export function parseLabelSelector(s: string | undefined | null): Matcher {
  if (!s) return () => true;
  const reqs = splitTopLevel(s).map(parseRequirement);
  return (labels) => reqs.every((r) => matchRequirement(r, labels));
}

/** A metav1.LabelSelector object (matchLabels + matchExpressions); an absent selector matches all. */
export function labelSelectorObject(sel: unknown): Matcher {
  if (sel === undefined || sel === null) return () => true;
  const o = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(o.matchLabels ?? {})) reqs.push({ key: k, op: 'in', values: [v] });
  for (const e of o.matchExpressions ?? []) {
    const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' }[e.operator];
    if (!op) throw new SelectorError(`unknown label selector operator ${e.operator}`);
    reqs.push({ key: e.key, op: op as Requirement['op'], values: e.values ?? [] });
  }
  return (labels) => reqs.every((r) => matchRequirement(r, labels));
}

export type ObjectMatcher = (obj: Record<string, unknown>) => boolean;

/** Dotted path lookup, as field selectors name fields (`spec.nodeName`, `status.phase`). */
export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

/**
 * Field selectors support `=`, `==` and `!=` on the fields the resource allows; the real server
 * rejects other fields with 400, and so do we.
 */
export function parseFieldSelector(s: string | undefined | null, allowed: string[]): ObjectMatcher {
  if (!s) return () => true;
  const terms = s.split(',').map((t) => t.trim()).filter(Boolean).map((t) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(t);
    if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${t}'`);
    const [, field, op, value] = m;
    if (!allowed.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
    return { field, neg: op === '!=', value };
  });
  return (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) !== t.neg);
}
