import type { ClusterModel } from './model.js';
import { matchesFields, parseFieldSelector } from './field-selector.js';
import { matchesSelector, parseSelector } from './selector.js';

export interface ClusterFilter {
  /** Only these namespaces (all when empty or absent). */
  namespaces?: string[];
  excludeNamespaces?: string[];
  /** Label selector for pods. */
  podSelector?: string;
  /** Field selector for pods (spec.nodeName=, status.phase=, metadata.name=). */
  fieldSelector?: string;
  /** Label selector for nodes. */
  nodeSelector?: string;
}

/**
 * Applies namespace include/exclude and label selectors. Nodes stay (their capacity is needed
 * for the licence rules) unless a node selector is given; pods are filtered.
 */
export function filterModel(model: ClusterModel, f: ClusterFilter): ClusterModel {
  const include = f.namespaces?.length ? new Set(f.namespaces) : null;
  const exclude = new Set(f.excludeNamespaces ?? []);
  const podReqs = f.podSelector ? parseSelector(f.podSelector) : [];
  const nodeReqs = f.nodeSelector ? parseSelector(f.nodeSelector) : [];
  const fieldReqs = f.fieldSelector ? parseFieldSelector(f.fieldSelector) : [];
  const nodes = model.nodes.filter((n) => matchesSelector(n.labels, nodeReqs));
  const nodeNames = new Set(nodes.map((n) => n.name));
  const pods = model.pods.filter(
    (p) =>
      (!include || include.has(p.namespace)) &&
      !exclude.has(p.namespace) &&
      matchesSelector(p.labels, podReqs) &&
      matchesFields(p, fieldReqs) &&
      (nodeReqs.length === 0 || (p.nodeName !== null && nodeNames.has(p.nodeName))),
  );
  // A problem row stays with its object: none for a pod or node the filter left out.
  const kept = new Set([...nodes.map((n) => `node/${n.name}`), ...pods.map((p) => `${p.namespace}/${p.name}`)]);
  const problems = model.problems.filter((row) => kept.has(row.target) || kept.has(row.target.slice(0, row.target.lastIndexOf('/'))));
  return { ...model, nodes, pods, problems };
}
