import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.js';
import { LicenceBadge, Status } from '../components/Badge.js';
import { Table, type Column } from '../components/Table.js';
import { num } from '../format.js';
import { href } from '../route.js';
import type { FindingRow, GpuSkuRow, NamespaceRow, NodeRow, PodRow, UsageFigureRow } from '../../views/types.js';
import { EvidenceChain, Facts, Gpus, nodeLink, nsLink, podLink, Products } from './common.js';

const podColumns = (withNode: boolean, withNs: boolean): Column<PodRow>[] => [
  ...(withNs ? [{ key: 'namespace', label: 'Namespace', render: (r: PodRow) => nsLink(r.namespace) }] : []),
  { key: 'pod', label: 'Pod', render: (r) => podLink(r.namespace, r.pod) },
  ...(withNode ? [{ key: 'node', label: 'Node', render: (r: PodRow) => nodeLink(r.node) }] : []),
  { key: 'phase', label: 'Phase', render: (r) => r.phase ?? '—' },
  { key: 'cpuLimits', label: 'CPU limits', numeric: true, render: (r) => `${num(r.cpuLimits, 3)}${r.unlimitedContainers ? ` + ${r.unlimitedContainers} unlimited` : ''}` },
  { key: 'gpus', label: 'GPUs', numeric: true, render: (r) => num(r.gpus) },
  { key: 'products', label: 'Products', sortable: false, render: (r) => <Products products={r.products} /> },
  { key: 'status', label: 'Status', render: (r) => <Status status={r.status} /> },
];

const podFilters = (withNode: boolean, withNs: boolean) => [
  ...(withNs ? [{ key: 'namespace', label: 'Namespace' }] : []),
  ...(withNode ? [{ key: 'node', label: 'Node' }] : []),
  { key: 'product', label: 'Product' },
  { key: 'status', label: 'Status' },
  { key: 'phase', label: 'Phase' },
];

export function PodTable({ fixed, initial, title = 'Pods' }: { fixed?: Record<string, string>; initial?: Record<string, string>; title?: string }) {
  const withNode = !fixed?.node;
  const withNs = !fixed?.namespace;
  return <Table<PodRow> view="pods" title={title} fixed={fixed} initial={initial} rowKey={(r) => `${r.namespace}/${r.pod}`} columns={podColumns(withNode, withNs)} filters={podFilters(withNode, withNs)} />;
}

export function FindingTable({ fixed, initial, title = 'Findings' }: { fixed?: Record<string, string>; initial?: Record<string, string>; title?: string }) {
  const cols: Column<FindingRow>[] = [
    { key: 'product', label: 'Product', render: (r) => `${r.product}${r.edition ? ` ${r.edition}` : ''}` },
    { key: 'version', label: 'Version', render: (r) => r.version ?? '—' },
    { key: 'licence', label: 'Licence', render: (r) => <LicenceBadge licence={r.licence} /> },
    { key: 'status', label: 'Status', render: (r) => <Status status={r.status} /> },
    ...(fixed?.namespace || fixed?.pod ? [] : [{ key: 'namespace', label: 'Namespace', render: (r: FindingRow) => nsLink(r.namespace) }]),
    ...(fixed?.pod ? [] : [{ key: 'pod', label: 'Pod', render: (r: FindingRow) => podLink(r.namespace, r.pod) }]),
    { key: 'container', label: 'Container', render: (r) => r.container },
    ...(fixed?.node || fixed?.pod ? [] : [{ key: 'node', label: 'Node', render: (r: FindingRow) => nodeLink(r.node) }]),
    { key: 'confidence', label: 'Confidence', render: (r) => r.confidence },
    {
      key: 'evidence',
      label: 'Evidence',
      sortable: false,
      render: (r) => (
        <details>
          <summary>{r.evidence.length === 1 ? '1 piece' : `${r.evidence.length} pieces`}</summary>
          <EvidenceChain image={r.image} imageDigest={r.imageDigest} method={r.method} evidence={r.evidence} />
        </details>
      ),
    },
  ];
  const filters = [
    ...(fixed?.namespace || fixed?.pod ? [] : [{ key: 'namespace', label: 'Namespace' }]),
    ...(fixed?.node || fixed?.pod ? [] : [{ key: 'node', label: 'Node' }]),
    { key: 'product', label: 'Product' },
    { key: 'licence', label: 'Licence' },
    { key: 'status', label: 'Status' },
    { key: 'method', label: 'Read by' },
  ];
  return <Table<FindingRow> view="findings" title={title} fixed={fixed} initial={initial} rowKey={(r) => `${r.namespace}/${r.pod}/${r.container}/${r.productId}`} columns={cols} filters={filters} />;
}

function UsageTable({ rows, title }: { rows: UsageFigureRow[]; title: string }) {
  if (!rows.length) return null;
  return (
    <section aria-labelledby="usage-h">
      <h2 id="usage-h">{title}</h2>
      <ul>
        {rows.map((u, i) => (
          <li key={i}>
            {u.productName} {u.metric} {u.sku ? `(${u.sku}) ` : ''}
            {u.scope}: <strong>{num(u.quantity)}</strong>
            {u.pvu !== null && ` (${num(u.pvu)} PVU)`} <span class="muted small">— {u.rule}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Nodes({ params }: { params: Record<string, string> }) {
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Nodes</h1>
        <p class="summary">CPU and GPUs of every node, the products running there and the worst entitlement status among them.</p>
      </header>
      <Table<NodeRow>
        view="nodes"
        title="All nodes"
        initial={params}
        rowKey={(r) => r.name}
        filters={[
          { key: 'product', label: 'Product' },
          { key: 'status', label: 'Status' },
          { key: 'sku', label: 'GPU SKU' },
          { key: 'agent', label: 'Agent' },
        ]}
        columns={[
          { key: 'name', label: 'Node', render: (r) => nodeLink(r.name) },
          { key: 'roles', label: 'Roles', render: (r) => r.roles.join(', ') || '—' },
          { key: 'cpu', label: 'CPU', numeric: true, render: (r) => num(r.cpu, 3) },
          { key: 'gpuCount', label: 'GPUs', numeric: true, render: (r) => num(r.gpuCount) },
          { key: 'gpus', label: 'GPU model and SKU', sortable: false, render: (r) => <Gpus gpus={r.gpus} /> },
          { key: 'pods', label: 'Pods', numeric: true, render: (r) => num(r.pods) },
          { key: 'products', label: 'Products', sortable: false, render: (r) => <Products products={r.products} /> },
          { key: 'agent', label: 'Agent', render: (r) => (r.agent ? 'yes' : 'no') },
          { key: 'status', label: 'Status', render: (r) => <Status status={r.status} /> },
        ]}
      />
    </>
  );
}

function useDetail<T>(path: string, onError: (e: Error) => void): T | null {
  const [d, setD] = useState<T | null>(null);
  useEffect(() => {
    setD(null);
    getJson<T>(path).then(setD).catch(onError);
  }, [path]);
  return d;
}

export function NodeDetail({ name, onError }: { name: string; onError: (e: Error) => void }) {
  const d = useDetail<{ node: NodeRow; usage: UsageFigureRow[] }>(`/api/v1/views/nodes/${encodeURIComponent(name)}`, onError);
  return (
    <>
      <header class="view-head">
        <p class="crumbs">
          <a href={href(['nodes'])}>Nodes</a> /
        </p>
        <h1 tabIndex={-1}>Node {name}</h1>
      </header>
      {d && (
        <>
          <Facts
            items={[
              ['Status', <Status status={d.node.status} />],
              ['CPU', `${num(d.node.cpu, 3)} (allocatable ${num(d.node.allocatableCpu, 3)})`],
              ['GPUs', <Gpus gpus={d.node.gpus} />],
              ['NVAIE-gated software', d.node.nvaieGated.join(', ') || 'none'],
              ['Roles', d.node.roles.join(', ') || '—'],
              ['Pods', num(d.node.pods)],
              ['Node agent', d.node.agent ? 'yes' : 'no'],
            ]}
          />
          <UsageTable rows={d.usage} title="Licence figures this node counts toward" />
        </>
      )}
      <PodTable fixed={{ node: name }} title={`Pods on ${name}`} />
      <FindingTable fixed={{ node: name }} title={`Findings on ${name}`} />
    </>
  );
}

export function Namespaces({ params }: { params: Record<string, string> }) {
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Namespaces</h1>
        <p class="summary">CPU limits and GPUs of the running containers of each namespace, and the products found there.</p>
      </header>
      <Table<NamespaceRow>
        view="namespaces"
        title="All namespaces"
        initial={params}
        rowKey={(r) => r.namespace}
        filters={[
          { key: 'product', label: 'Product' },
          { key: 'status', label: 'Status' },
          { key: 'node', label: 'Node' },
        ]}
        columns={[
          { key: 'namespace', label: 'Namespace', render: (r) => nsLink(r.namespace) },
          { key: 'runningPods', label: 'Running pods', numeric: true, render: (r) => `${num(r.runningPods)} of ${num(r.pods)}` },
          { key: 'cpuLimits', label: 'CPU limits', numeric: true, render: (r) => `${num(r.cpuLimits, 3)}${r.unlimitedContainers ? ` + ${r.unlimitedContainers} unlimited` : ''}` },
          { key: 'gpuCount', label: 'GPUs', numeric: true, render: (r) => num(r.gpuCount) },
          { key: 'gpus', label: 'GPU model and SKU', sortable: false, render: (r) => <Gpus gpus={r.gpus} /> },
          { key: 'nvaieAllocated', label: 'NVAIE GPUs', numeric: true, render: (r) => num(r.nvaieAllocated) },
          { key: 'products', label: 'Products', sortable: false, render: (r) => <Products products={r.products} /> },
          { key: 'status', label: 'Status', render: (r) => <Status status={r.status} /> },
        ]}
      />
    </>
  );
}

export function NamespaceDetail({ name, onError }: { name: string; onError: (e: Error) => void }) {
  const d = useDetail<{ namespace: NamespaceRow; usage: UsageFigureRow[] }>(`/api/v1/views/namespaces/${encodeURIComponent(name)}`, onError);
  return (
    <>
      <header class="view-head">
        <p class="crumbs">
          <a href={href(['namespaces'])}>Namespaces</a> /
        </p>
        <h1 tabIndex={-1}>Namespace {name}</h1>
      </header>
      {d && (
        <>
          <Facts
            items={[
              ['Status', <Status status={d.namespace.status} />],
              ['Pods', `${num(d.namespace.runningPods)} running of ${num(d.namespace.pods)}`],
              ['CPU limits of running containers', `${num(d.namespace.cpuLimits, 3)} cores${d.namespace.unlimitedContainers ? `, ${d.namespace.unlimitedContainers} container(s) without a limit` : ''}`],
              ['GPUs', <Gpus gpus={d.namespace.gpus} />],
              ['GPUs NVIDIA AI Enterprise counts here', num(d.namespace.nvaieAllocated)],
              ['Nodes', d.namespace.nodes.join(', ') || '—'],
            ]}
          />
          <UsageTable rows={d.usage} title="Licence figures this namespace counts toward" />
        </>
      )}
      <PodTable fixed={{ namespace: name }} title={`Pods in ${name}`} />
      <FindingTable fixed={{ namespace: name }} title={`Findings in ${name}`} />
    </>
  );
}

export function Pods({ params }: { params: Record<string, string> }) {
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Pods</h1>
      </header>
      <PodTable initial={params} title="All pods" />
    </>
  );
}

export function PodDetail({ ns, pod, onError }: { ns: string; pod: string; onError: (e: Error) => void }) {
  const d = useDetail<{ pod: PodRow; findings: FindingRow[] }>(`/api/v1/views/pods/${encodeURIComponent(ns)}/${encodeURIComponent(pod)}`, onError);
  return (
    <>
      <header class="view-head">
        <p class="crumbs">
          <a href={href(['pods'])}>Pods</a> / {nsLink(ns)} /
        </p>
        <h1 tabIndex={-1}>Pod {pod}</h1>
      </header>
      {d && (
        <>
          <Facts
            items={[
              ['Status', <Status status={d.pod.status} />],
              ['Node', nodeLink(d.pod.node)],
              ['Phase', d.pod.phase ?? '—'],
              ['Containers', d.pod.containers.join(', ')],
              ['CPU limits', `${num(d.pod.cpuLimits, 3)} cores${d.pod.unlimitedContainers ? `, ${d.pod.unlimitedContainers} without a limit` : ''}`],
              ['GPUs', num(d.pod.gpus)],
              ['Images', d.pod.images.join(', ')],
            ]}
          />
          <section aria-labelledby="chain-h">
            <h2 id="chain-h">What was found, and how</h2>
            {d.findings.length === 0 && <p class="muted">No product was found in this pod.</p>}
            {d.findings.map((f, i) => (
              <article key={i} class="finding" aria-labelledby={`f${i}`}>
                <h3 id={`f${i}`}>
                  {f.product}
                  {f.edition ? ` ${f.edition}` : ''}
                  {f.version ? ` ${f.version}` : ''} <LicenceBadge licence={f.licence} /> <Status status={f.status} />
                </h3>
                <p class="muted small">
                  Container {f.container}, {f.vendor}, licence metric {f.licenseMetric}, confidence {f.confidence}
                </p>
                <EvidenceChain image={f.image} imageDigest={f.imageDigest} method={f.method} evidence={f.evidence} />
              </article>
            ))}
          </section>
        </>
      )}
    </>
  );
}

export function Findings({ params }: { params: Record<string, string> }) {
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Findings</h1>
        <p class="summary">Every product found in every container, with the evidence that found it.</p>
      </header>
      <FindingTable initial={params} title="All findings" />
    </>
  );
}

export function Licences({ params }: { params: Record<string, string> }) {
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Licences</h1>
        <p class="summary">Licence figures as the vendors&apos; rules count them, and the GPUs NVIDIA AI Enterprise is licensed by.</p>
      </header>
      <Table<UsageFigureRow>
        view="usage"
        title="Licence figures"
        initial={params}
        rowKey={(r) => `${r.productId}|${r.metric}|${r.scope}|${r.sku}|${r.cloudpakId}`}
        filters={[
          { key: 'product', label: 'Product' },
          { key: 'metric', label: 'Metric' },
          { key: 'scope', label: 'Scope' },
        ]}
        columns={[
          { key: 'productName', label: 'Product', render: (r) => r.productName },
          { key: 'metric', label: 'Metric', render: (r) => r.metric },
          { key: 'quantity', label: 'Quantity', numeric: true, render: (r) => num(r.quantity) },
          { key: 'pvu', label: 'PVU', numeric: true, render: (r) => num(r.pvu) },
          { key: 'scope', label: 'Scope', render: (r) => r.scope },
          { key: 'sku', label: 'SKU', render: (r) => r.sku ?? '—' },
          { key: 'cloudpakName', label: 'Cloud Pak', render: (r) => r.cloudpakName ?? '—' },
          {
            key: 'rule',
            label: 'Rule',
            sortable: false,
            render: (r) => (
              <details>
                <summary>how it is counted</summary>
                <p class="small">{r.rule}</p>
              </details>
            ),
          },
        ]}
      />
      <Table<GpuSkuRow>
        view="gpus"
        title="GPU SKUs: GPUs on nodes and GPUs NVIDIA AI Enterprise counts"
        description="A GPU needs an NVIDIA AI Enterprise licence only where NVAIE-gated software (NIM, NeMo, …) runs: every GPU of such a node, or, read narrowly, the GPUs allocated to the gated pods."
        rowKey={(r) => r.sku ?? 'unknown'}
        filters={[
          { key: 'sku', label: 'SKU' },
          { key: 'status', label: 'Status' },
        ]}
        columns={[
          { key: 'sku', label: 'SKU', render: (r) => r.sku ?? 'unknown' },
          { key: 'models', label: 'GPU models', sortable: false, render: (r) => r.models.join(', ') || 'not labelled' },
          { key: 'onNodes', label: 'GPUs on nodes', numeric: true, render: (r) => num(r.onNodes) },
          { key: 'onGatedNodes', label: 'On nodes running gated software', numeric: true, render: (r) => num(r.onGatedNodes) },
          { key: 'allocatedToGated', label: 'Allocated to gated pods', numeric: true, render: (r) => num(r.allocatedToGated) },
          { key: 'nodes', label: 'Nodes', sortable: false, render: (r) => r.nodes.map((n, i) => <>{i > 0 && ', '}{nodeLink(n)}</>) },
          { key: 'status', label: 'Status', render: (r) => <Status status={r.status} /> },
        ]}
      />
    </>
  );
}
