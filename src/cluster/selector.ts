import { badInput } from '../errors.js';

/**
 * Kubernetes label selectors ("app=web,tier!=db,env in (prod,stage),!legacy,release"), so a
 * snapshot is filtered exactly as the API server filters a live list. Hand-written on purpose
 * (first-hour review §7: keep): npm has no maintained parser of them; live lists pass the
 * selector to the API server instead.
 */
export type Requirement =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] };

export function parseSelector(selector: string): Requirement[] {
  const reqs: Requirement[] = [];
  // Split on commas that are not inside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      reqs.push({ op: m[2] as 'in' | 'notin', key: m[1], values: m[3].split(',').map((v) => v.trim()).filter(Boolean) });
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p))) {
      reqs.push({ op: m[2] === '!=' ? 'notin' : 'in', key: m[1], values: [m[3]] });
    } else if ((m = /^!\s*([\w./-]+)$/.exec(p))) {
      reqs.push({ op: 'notexists', key: m[1] });
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      reqs.push({ op: 'exists', key: m[1] });
    } else {
      throw badInput(`label selector '${selector}': cannot parse '${p}'`, "use key=value, key!=value, key in (a,b), key notin (a,b), key or !key, separated by commas");
    }
  }
  return reqs;
}

export function matchesSelector(labels: Record<string, string>, reqs: Requirement[]): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key]);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]);
    }
  });
}
