import type { TableSpec } from './table.js';
import type { EntitlementRow, FindingRow, InstallationRow, GpuRef, GpuSkuRow, NamespaceRow, NodeRow, PeakRow, PodRow, ProductRef, ProductUseRow, UsageFigureRow } from './types.js';
import { statusOrder } from './products.js';

/**
 * Columns, filters and search text of every table the page shows. The column keys are the
 * `sort` values the API accepts; the labels are the CSV headers.
 */

const list = (xs: string[]) => xs.join('; ');
const products = (ps: ProductRef[]) => list(ps.map((p) => p.product));
const gpuText = (gs: GpuRef[]) => list(gs.map((g) => `${g.count}× ${g.product ?? 'unknown model'} (${g.sku ?? 'SKU unknown'})`));
const status = (s: string | null) => s ?? 'none';
const statuses = (ps: ProductRef[]) => [...new Set(ps.map((p) => status(p.status)))];

export const nodeSpec: TableSpec<NodeRow> = {
  columns: [
    { key: 'name', label: 'Node', value: (r) => r.name },
    { key: 'roles', label: 'Roles', value: (r) => list(r.roles) },
    { key: 'cpu', label: 'CPU', value: (r) => r.cpu },
    { key: 'gpuCount', label: 'GPUs', value: (r) => r.gpuCount },
    { key: 'gpus', label: 'GPU models and SKUs', value: (r) => gpuText(r.gpus) },
    { key: 'pods', label: 'Pods', value: (r) => r.pods },
    { key: 'products', label: 'Products', value: (r) => products(r.products) },
    { key: 'nvaieGated', label: 'NVAIE-gated', value: (r) => list(r.nvaieGated) },
    { key: 'agent', label: 'Agent', value: (r) => (r.agent ? 'yes' : 'no') },
    { key: 'status', label: 'Status', value: (r) => status(r.status) },
  ],
  filters: {
    product: (r) => r.products.map((p) => p.product),
    status: (r) => statuses(r.products),
    sku: (r) => r.gpus.map((g) => g.sku ?? 'unknown'),
    agent: (r) => [r.agent ? 'yes' : 'no'],
  },
  search: (r) => `${r.name} ${r.roles.join(' ')} ${r.products.map((p) => p.product).join(' ')} ${r.gpus.map((g) => `${g.product} ${g.sku}`).join(' ')}`,
  defaultSort: 'name',
};

export const namespaceSpec: TableSpec<NamespaceRow> = {
  columns: [
    { key: 'namespace', label: 'Namespace', value: (r) => r.namespace },
    { key: 'pods', label: 'Pods', value: (r) => r.pods },
    { key: 'runningPods', label: 'Running pods', value: (r) => r.runningPods },
    { key: 'containers', label: 'Containers', value: (r) => r.containers },
    { key: 'cpuLimits', label: 'CPU limits (cores)', value: (r) => r.cpuLimits },
    { key: 'unlimitedContainers', label: 'Containers without CPU limit', value: (r) => r.unlimitedContainers },
    { key: 'gpuCount', label: 'GPUs', value: (r) => r.gpuCount },
    { key: 'gpus', label: 'GPU models and SKUs', value: (r) => gpuText(r.gpus) },
    { key: 'nvaieAllocated', label: 'NVAIE GPUs allocated', value: (r) => r.nvaieAllocated },
    { key: 'products', label: 'Products', value: (r) => products(r.products) },
    { key: 'nodes', label: 'Nodes', value: (r) => list(r.nodes) },
    { key: 'status', label: 'Status', value: (r) => status(r.status) },
  ],
  filters: {
    product: (r) => r.products.map((p) => p.product),
    status: (r) => statuses(r.products),
    node: (r) => r.nodes,
  },
  search: (r) => `${r.namespace} ${r.products.map((p) => p.product).join(' ')} ${r.nodes.join(' ')}`,
  defaultSort: 'namespace',
};

export const podSpec: TableSpec<PodRow> = {
  columns: [
    { key: 'namespace', label: 'Namespace', value: (r) => r.namespace },
    { key: 'pod', label: 'Pod', value: (r) => r.pod },
    { key: 'node', label: 'Node', value: (r) => r.node },
    { key: 'phase', label: 'Phase', value: (r) => r.phase },
    { key: 'containers', label: 'Containers', value: (r) => list(r.containers) },
    { key: 'cpuLimits', label: 'CPU limits (cores)', value: (r) => r.cpuLimits },
    { key: 'gpus', label: 'GPUs', value: (r) => r.gpus },
    { key: 'products', label: 'Products', value: (r) => products(r.products) },
    { key: 'images', label: 'Images', value: (r) => list(r.images) },
    { key: 'status', label: 'Status', value: (r) => status(r.status) },
  ],
  filters: {
    namespace: (r) => [r.namespace],
    node: (r) => (r.node ? [r.node] : []),
    product: (r) => r.products.map((p) => p.product),
    status: (r) => statuses(r.products),
    phase: (r) => (r.phase ? [r.phase] : []),
  },
  search: (r) => `${r.namespace}/${r.pod} ${r.node ?? ''} ${r.containers.join(' ')} ${r.images.join(' ')} ${r.products.map((p) => p.product).join(' ')}`,
  defaultSort: 'namespace',
};

export const findingSpec: TableSpec<FindingRow> = {
  columns: [
    { key: 'product', label: 'Product', value: (r) => r.product },
    { key: 'vendor', label: 'Vendor', value: (r) => r.vendor },
    { key: 'edition', label: 'Edition', value: (r) => r.edition },
    { key: 'version', label: 'Version', value: (r) => r.version },
    { key: 'licence', label: 'Licence', value: (r) => r.licence },
    { key: 'namespace', label: 'Namespace', value: (r) => r.namespace },
    { key: 'pod', label: 'Pod', value: (r) => r.pod },
    { key: 'container', label: 'Container', value: (r) => r.container },
    { key: 'node', label: 'Node', value: (r) => r.node },
    { key: 'image', label: 'Image', value: (r) => r.image },
    { key: 'method', label: 'Read by', value: (r) => r.method },
    { key: 'phase', label: 'Pod phase', value: (r) => r.phase },
    { key: 'confidence', label: 'Confidence', value: (r) => r.confidence },
    { key: 'status', label: 'Status', value: (r) => status(r.status) },
    { key: 'evidence', label: 'Evidence', value: (r) => list(r.evidence.map((e) => `${e.kind}${e.path ? ` ${e.path}` : ''}${e.value ? ` = ${e.value}` : ''} (${e.rule})`)) },
  ],
  filters: {
    namespace: (r) => (r.namespace ? [r.namespace] : []),
    node: (r) => (r.node ? [r.node] : []),
    pod: (r) => (r.pod ? [`${r.namespace}/${r.pod}`] : []),
    product: (r) => [r.product],
    vendor: (r) => [r.vendor],
    licence: (r) => [r.licence],
    status: (r) => [status(r.status)],
    method: (r) => [r.method],
  },
  search: (r) => `${r.product} ${r.vendor} ${r.edition ?? ''} ${r.version ?? ''} ${r.namespace}/${r.pod} ${r.container} ${r.node ?? ''} ${r.image}`,
  defaultSort: 'product',
};

export const usageSpec: TableSpec<UsageFigureRow> = {
  columns: [
    { key: 'productName', label: 'Product', value: (r) => r.productName },
    { key: 'metric', label: 'Metric', value: (r) => r.metric },
    { key: 'quantity', label: 'Quantity', value: (r) => r.quantity },
    { key: 'pvu', label: 'PVU', value: (r) => r.pvu },
    { key: 'scope', label: 'Scope', value: (r) => r.scope },
    { key: 'sku', label: 'SKU', value: (r) => r.sku },
    { key: 'cloudpakName', label: 'Cloud Pak', value: (r) => r.cloudpakName },
    { key: 'productId', label: 'Product ID', value: (r) => r.productId },
    { key: 'rule', label: 'Rule', value: (r) => r.rule },
  ],
  filters: {
    product: (r) => [r.productName],
    metric: (r) => [r.metric],
    scope: (r) => [r.scope],
  },
  search: (r) => `${r.productName} ${r.productId} ${r.metric} ${r.scope} ${r.sku ?? ''} ${r.cloudpakName ?? ''}`,
  defaultSort: 'productName',
};

const statusRank = (s: string) => statusOrder.indexOf(s as (typeof statusOrder)[number]);

export const entitlementSpec: TableSpec<EntitlementRow> = {
  columns: [
    // Sorting by status ranks it (over, warning, unlicensed first), not alphabetically.
    { key: 'status', label: 'Status', value: (r) => statusRank(r.status) },
    { key: 'product', label: 'Product', value: (r) => r.product },
    { key: 'metric', label: 'Metric', value: (r) => r.metric },
    { key: 'used', label: 'Used', value: (r) => r.used },
    { key: 'owned', label: 'Owned', value: (r) => r.owned },
    { key: 'percentage', label: '%', value: (r) => r.percentage },
    { key: 'threshold', label: 'Alert threshold %', value: (r) => r.threshold },
    { key: 'namespaces', label: 'Namespaces', value: (r) => list(r.namespaces) },
    { key: 'basis', label: 'Basis', value: (r) => r.basis },
  ],
  filters: {
    status: (r) => [r.status],
    product: (r) => [r.product],
  },
  search: (r) => `${r.product} ${r.metric} ${r.status} ${r.basis}`,
  defaultSort: 'status',
};

/** CSV of entitlements says the status in words, where the sort key is its rank. */
export const entitlementCsvSpec: TableSpec<EntitlementRow> = {
  ...entitlementSpec,
  columns: entitlementSpec.columns.map((c) => (c.key === 'status' ? { ...c, value: (r: EntitlementRow) => r.status } : c)),
};

export const gpuSpec: TableSpec<GpuSkuRow> = {
  columns: [
    { key: 'sku', label: 'SKU', value: (r) => r.sku ?? 'unknown' },
    { key: 'models', label: 'GPU models', value: (r) => list(r.models) },
    { key: 'onNodes', label: 'GPUs on nodes', value: (r) => r.onNodes },
    { key: 'onGatedNodes', label: 'GPUs of nodes running NVAIE-gated software', value: (r) => r.onGatedNodes },
    { key: 'allocatedToGated', label: 'GPUs allocated to NVAIE-gated pods', value: (r) => r.allocatedToGated },
    { key: 'gatedProducts', label: 'Gated products', value: (r) => list(r.gatedProducts) },
    { key: 'nodes', label: 'Nodes', value: (r) => list(r.nodes) },
    { key: 'status', label: 'Status', value: (r) => status(r.status) },
  ],
  filters: {
    sku: (r) => [r.sku ?? 'unknown'],
    status: (r) => [status(r.status)],
  },
  search: (r) => `${r.sku ?? 'unknown'} ${r.models.join(' ')} ${r.nodes.join(' ')}`,
  defaultSort: 'sku',
};

export const peakSpec: TableSpec<PeakRow> = {
  columns: [
    { key: 'productName', label: 'Product', value: (r) => r.productName },
    { key: 'metric', label: 'Metric', value: (r) => r.metric },
    { key: 'scope', label: 'Scope', value: (r) => r.scope },
    { key: 'sku', label: 'SKU', value: (r) => r.sku },
    { key: 'quantity', label: 'Peak', value: (r) => r.quantity },
    { key: 'pvu', label: 'Peak PVU', value: (r) => r.pvu },
    { key: 'day', label: 'Day of the peak', value: (r) => r.day },
    { key: 'productId', label: 'Product ID', value: (r) => r.productId },
    { key: 'clusterId', label: 'Cluster', value: (r) => r.clusterId },
  ],
  filters: {
    product: (r) => [r.productName],
    metric: (r) => [r.metric],
    scope: (r) => [r.scope],
  },
  search: (r) => `${r.productName} ${r.productId} ${r.metric} ${r.scope} ${r.sku ?? ''}`,
  defaultSort: 'productName',
};

export const installationSpec: TableSpec<InstallationRow> = {
  columns: [
    { key: 'product', label: 'Product', value: (r) => r.product },
    { key: 'vendor', label: 'Vendor', value: (r) => r.vendor },
    { key: 'namespace', label: 'Namespace', value: (r) => r.namespace },
    { key: 'workload', label: 'Workload', value: (r) => r.workload },
    { key: 'container', label: 'Container', value: (r) => r.container },
    { key: 'image', label: 'Image', value: (r) => r.image },
    { key: 'firstSeen', label: 'First seen', value: (r) => r.firstSeen },
    { key: 'lastSeen', label: 'Last seen', value: (r) => r.lastSeen },
    { key: 'current', label: 'Running now', value: (r) => (r.current ? 'yes' : 'no') },
    { key: 'productId', label: 'Product ID', value: (r) => r.productId },
    { key: 'clusterId', label: 'Cluster', value: (r) => r.clusterId },
  ],
  filters: {
    product: (r) => [r.product],
    namespace: (r) => [r.namespace],
    current: (r) => [r.current ? 'yes' : 'no'],
  },
  search: (r) => `${r.product} ${r.vendor} ${r.namespace} ${r.workload} ${r.container} ${r.image}`,
  defaultSort: 'product',
};

const licenceRank = (l: string) => ['licensable', 'unknown', 'free'].indexOf(l);

export const productSpec: TableSpec<ProductUseRow> = {
  columns: [
    { key: 'licence', label: 'Licence', value: (r) => licenceRank(r.licence) },
    { key: 'product', label: 'Product', value: (r) => r.product },
    { key: 'vendor', label: 'Vendor', value: (r) => r.vendor },
    { key: 'status', label: 'Status', value: (r) => status(r.status) },
    { key: 'containers', label: 'Running containers', value: (r) => r.containers },
    { key: 'namespaces', label: 'Namespaces', value: (r) => r.namespaces },
    { key: 'nodes', label: 'Nodes', value: (r) => r.nodes },
    { key: 'id', label: 'Product ID', value: (r) => r.id },
  ],
  filters: {
    licence: (r) => [r.licence],
    vendor: (r) => [r.vendor],
    status: (r) => [status(r.status)],
  },
  search: (r) => `${r.product} ${r.vendor} ${r.id}`,
  defaultSort: 'licence',
};

export const productCsvSpec: TableSpec<ProductUseRow> = {
  ...productSpec,
  columns: productSpec.columns.map((c) => (c.key === 'licence' ? { ...c, value: (r: ProductUseRow) => r.licence } : c)),
};
