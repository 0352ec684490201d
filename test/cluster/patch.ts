/** The three PATCH flavours kubectl and client libraries send. */
type J = any;

const isObj = (v: J) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: J, patch: J): J {
  if (!isObj(patch)) return structuredClone(patch);
  const out: J = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge patch, the subset kubectl apply produces: lists of objects with a `name` (or
 * `containerPort`/`mountPath`) merge by that key; `$patch: delete|replace`, `$retainKeys` and
 * `$setElementOrder/...` / `$deleteFromPrimitiveList/...` directives are honoured or dropped.
 */
export function strategicMergePatch(target: J, patch: J): J {
  if (!isObj(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return structuredClone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: J = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries<J>(patch)) {
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f])) out[f] = out[f].filter((x: J) => !(v as J[]).includes(x));
      continue;
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v) && Array.isArray(out[k]) && v.every(isObj)) out[k] = mergeList(out[k], v);
    else {
      const r = strategicMergePatch(out[k], v);
      if (r === undefined) delete out[k];
      else out[k] = r;
    }
  }
  if (Array.isArray(patch.$retainKeys)) for (const key of Object.keys(out)) if (!patch.$retainKeys.includes(key)) delete out[key];
  return out;
}

function mergeKey(list: J[]): string | undefined {
  for (const k of ['name', 'mountPath', 'containerPort', 'devicePath', 'ip', 'port', 'type', 'key', 'topologyKey']) {
    if (list.every((x) => isObj(x) && (x[k] !== undefined || x.$patch === 'delete'))) return k;
  }
  return undefined;
}

function mergeList(target: J[], patch: J[]): J[] {
  const key = mergeKey([...target, ...patch.filter((p) => p.$patch !== 'delete' || true)]);
  if (!key) return structuredClone(patch);
  const out = [...target];
  for (const p of patch) {
    const i = out.findIndex((t) => t[key] === p[key]);
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMergePatch(out[i], p);
    else out.push(strategicMergePatch({}, p));
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 JSON patch (add, remove, replace, test, copy, move). */
export function jsonPatch(doc: J, ops: J[]): J {
  let root = structuredClone(doc);
  const parentOf = (parts: string[]) => {
    let cur = root;
    for (const p of parts.slice(0, -1)) {
      cur = Array.isArray(cur) ? cur[Number(p)] : cur?.[p];
      if (cur === undefined) throw new Error(`path not found: /${parts.join('/')}`);
    }
    return cur;
  };
  const get = (parts: string[]) => parts.reduce((c: J, p) => (Array.isArray(c) ? c[Number(p)] : c?.[p]), root);
  const put = (parts: string[], value: J, insert: boolean) => {
    if (parts.length === 0) {
      root = value;
      return;
    }
    const parent = parentOf(parts);
    const last = parts[parts.length - 1];
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (insert) parent.splice(i, 0, value);
      else parent[i] = value;
    } else parent[last] = value;
  };
  const remove = (parts: string[]) => {
    const parent = parentOf(parts);
    const last = parts[parts.length - 1];
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else {
      if (!(last in parent)) throw new Error(`unable to remove nonexistent key: ${last}`);
      delete parent[last];
    }
  };
  for (const op of ops) {
    const parts = pointer(op.path);
    switch (op.op) {
      case 'add': put(parts, structuredClone(op.value), true); break;
      case 'replace': put(parts, structuredClone(op.value), false); break;
      case 'remove': remove(parts); break;
      case 'test':
        if (JSON.stringify(get(parts)) !== JSON.stringify(op.value)) throw new Error(`testing value ${op.path} failed`);
        break;
      case 'copy': put(parts, structuredClone(get(pointer(op.from))), true); break;
      case 'move': {
        const v = get(pointer(op.from));
        remove(pointer(op.from));
        put(parts, v, true);
        break;
      }
      default: throw new Error(`Unexpected kind: ${op.op}`);
    }
  }
  return root;
}
