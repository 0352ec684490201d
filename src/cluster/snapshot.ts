import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { badInput } from '../errors.js';
import { buildClusterModel, type ClusterModel } from './model.js';

const fix = 'create it with: kubectl get nodes,pods -A -o json > FILE';

/**
 * Reads `kubectl get nodes,pods -A -o json` output: a v1 List (or NodeList/PodList) of Node and
 * Pod items. YAML (`-o yaml`) is accepted too. Other kinds in the list are ignored; a file
 * without a single Node is rejected, because no licence figure can be computed without nodes.
 */
export async function loadSnapshot(file: string): Promise<ClusterModel> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw badInput(`cannot read snapshot ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`, fix);
  }
  return parseSnapshot(text, file);
}

export function parseSnapshot(text: string, file: string): ClusterModel {
  let doc: unknown;
  const trimmed = text.trimStart();
  try {
    doc = trimmed.startsWith('{') || trimmed.startsWith('[') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw badInput(`snapshot ${file} is not valid JSON: ${(err as Error).message.split('\n')[0]}`, fix);
  }
  const items = Array.isArray(doc) ? doc : (doc as { items?: unknown } | null)?.items;
  const kind = (doc as { kind?: unknown } | null)?.kind;
  if (!Array.isArray(items)) {
    throw badInput(
      `snapshot ${file} is not a Kubernetes list: expected {"kind": "List", "items": [...]}, found ${kind ? `kind ${String(kind)}` : 'no items'}`,
      fix,
    );
  }
  const nodes: unknown[] = [];
  const pods: unknown[] = [];
  const listKind = typeof kind === 'string' ? kind : 'List';
  items.forEach((item, i) => {
    const k = (item as { kind?: unknown } | null)?.kind ?? (listKind === 'NodeList' ? 'Node' : listKind === 'PodList' ? 'Pod' : undefined);
    const name = (item as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (typeof name !== 'string' || !name) throw badInput(`snapshot ${file}: items[${i}] has no metadata.name`, fix);
    if (k === 'Node') nodes.push(item);
    else if (k === 'Pod') pods.push(item);
  });
  if (nodes.length === 0) {
    throw badInput(`snapshot ${file} holds no Node (found ${pods.length} pods)`, `include the nodes: ${fix.replace('create it with: ', '')}`);
  }
  return buildClusterModel(nodes, pods, 'snapshot');
}
