import { useEffect, useState } from 'preact/hooks';
import { download, getJson } from '../api.js';
import { LicenceBadge, Status } from '../components/Badge.js';
import { Table } from '../components/Table.js';
import { num, pct, plural, relative, when } from '../format.js';
import { href } from '../route.js';
import type { EntitlementRow, OverviewView, PeakRow, ProductUseRow } from '../../views/types.js';

/** Entitlements, what needs action first (over, warning, unlicensed), with a used-of-owned bar. */
export function EntitlementTable({ title, initial }: { title: string; initial?: Record<string, string> }) {
  return (
    <Table<EntitlementRow>
      view="entitlements"
      title={title}
      initial={initial}
      rowKey={(e) => `${e.product}|${e.metric}|${e.namespaces.join(',')}`}
      filters={[
        { key: 'status', label: 'Status' },
        { key: 'product', label: 'Product' },
      ]}
      columns={[
        { key: 'status', label: 'Status', render: (e) => <Status status={e.status} /> },
        { key: 'product', label: 'Product', render: (e) => e.product },
        { key: 'metric', label: 'Metric', render: (e) => e.metric },
        { key: 'used', label: 'Used', numeric: true, render: (e) => num(e.used) },
        { key: 'owned', label: 'Owned', numeric: true, render: (e) => (e.status === 'unlicensed' ? '—' : num(e.owned)) },
        {
          key: 'percentage',
          label: 'Used of owned',
          numeric: true,
          render: (e) => (
            <>
              {pct(e.percentage)} <Meter e={e} />
            </>
          ),
        },
        { key: 'namespaces', label: 'Namespaces', sortable: false, render: (e) => (e.namespaces.length ? e.namespaces.join(', ') : 'all') },
        { key: 'basis', label: 'Basis', sortable: false, render: (e) => <span class="muted small">{e.basis}</span> },
      ]}
    />
  );
}

function Meter({ e }: { e: EntitlementRow }) {
  if (!e.owned) return null;
  const ratio = Math.min(e.used / e.owned, 1.5);
  return (
    <span class={`meter status-${e.status}`} aria-hidden="true">
      <span style={{ width: `${(ratio / 1.5) * 100}%` }} />
      <i style={{ left: `${(1 / 1.5) * 100}%` }} />
    </span>
  );
}

export function Overview({ onError }: { onError: (e: Error) => void }) {
  const [o, setO] = useState<OverviewView | null>(null);
  useEffect(() => {
    getJson<OverviewView>('/api/v1/views/overview')
      .then((v) => {
        setO(v);
        performance.mark('kensus:overview-rendered');
      })
      .catch(onError);
  }, []);
  if (!o) return <p aria-busy="true">Loading the overview…</p>;
  const c = o.entitlements.counts;
  const cards: Array<[string, number, string]> = [
    ['over', c.over, 'Over the entitlement'],
    ['warning', c.warning, 'At or above the alert threshold'],
    ['unlicensed', c.unlicensed, 'In use, no entitlement'],
    ['ok', c.ok, 'Within the entitlement'],
  ];
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Licence compliance</h1>
        {o.lastSweep ? (
          <p class="summary" data-role="sweeps">
            {o.clusters.map((cl) => (
              <span key={cl.id}>
                Cluster <strong>{cl.name ?? cl.id.slice(0, 8)}</strong> ({cl.source}) ·{' '}
              </span>
            ))}
            Last sweep <time dateTime={o.lastSweep}>{when(o.lastSweep)}</time> ({relative(o.lastSweep)}) · Next sweep{' '}
            {o.sweeping ? 'running now' : o.nextSweep ? <time dateTime={o.nextSweep}>{when(o.nextSweep)}</time> : 'not scheduled'}
            {o.metadataOnly && ' · figures from the cluster model only (metadata-only)'} · Kensus {o.tool.version}
          </p>
        ) : (
          <p class="summary">No sweep has finished yet. The first one is running.</p>
        )}
      </header>

      <section aria-labelledby="status-h">
        <h2 id="status-h">Entitlements at a glance</h2>
        <ul class="cards" data-role="status-cards">
          {cards.map(([s, n, label]) => (
            <li key={s} class={`card status-${s}${n > 0 ? ' lit' : ''}`} data-status={s}>
              <span class="big">{num(n)}</span>
              <span class="label">
                <Status status={s as EntitlementRow['status']} /> {label}
              </span>
            </li>
          ))}
          <li class="card" data-role="coverage">
            <span class="big">
              {num(o.coverage.withAgent)}/{num(o.coverage.nodes)}
            </span>
            <span class="label">
              nodes with the node agent{o.coverage.withoutAgent > 0 && ` (${num(o.coverage.withoutAgent)} without)`}
              {o.coverage.source === 'store' ? ', from the agents\' heartbeats' : ''}
            </span>
          </li>
          <li class="card" data-role="products">
            <span class="big">{num(o.products.licensable)}</span>
            <span class="label">
              licensable products; {plural(o.products.free, 'free product')}, {num(o.products.unknown)} that cannot be told
            </span>
          </li>
        </ul>
      </section>

      {o.coverage.withoutAgent > 0 && (
        <p class="muted small" data-role="nodes-without-agent">
          Without a node agent (their containers are seen by sweeps only): {o.coverage.nodesWithoutAgent.join(', ')}.
        </p>
      )}

      <EntitlementTable title="Used and owned per entitlement" />

      <Table<PeakRow>
        view="peaks"
        title={`Peaks of ${o.period.label}`}
        description={
          <>
            The highest value of each licence figure this quarter and the first day it was reached (IBM&apos;s quarterly report).{' '}
            <button type="button" class="link" onClick={() => void download('/api/v1/download/usage', { quarter: o.period.label, format: 'json' })}>
              Quarterly report (JSON)
            </button>{' '}
            ·{' '}
            <button type="button" class="link" onClick={() => void download('/api/v1/download/usage', { quarter: o.period.label, format: 'csv' })}>
              Quarterly report (CSV)
            </button>{' '}
            · <a href={href(['history'])}>History</a>
          </>
        }
        extra={{ quarter: o.period.label }}
        rowKey={(r) => r.key}
        filters={[
          { key: 'product', label: 'Product' },
          { key: 'scope', label: 'Scope' },
        ]}
        columns={[
          { key: 'productName', label: 'Product', render: (r) => r.productName },
          { key: 'metric', label: 'Metric', render: (r) => r.metric },
          { key: 'scope', label: 'Scope', render: (r) => r.scope },
          { key: 'sku', label: 'SKU', render: (r) => r.sku ?? '—' },
          { key: 'quantity', label: 'Peak', numeric: true, render: (r) => num(r.quantity) },
          { key: 'pvu', label: 'PVU', numeric: true, render: (r) => num(r.pvu) },
          { key: 'day', label: 'Day', render: (r) => <time dateTime={r.day}>{r.day}</time> },
        ]}
      />

      <Table<ProductUseRow>
        view="products"
        title="Products in use"
        description={`Licensable products are the ones that need a paid licence; free editions and look-alikes are told apart. ${plural(o.products.licensableContainers, 'running container')} with licensable software, ${plural(o.products.freeContainers, 'container')} with free software only.`}
        rowKey={(r) => r.id}
        filters={[
          { key: 'licence', label: 'Licence' },
          { key: 'status', label: 'Status' },
          { key: 'vendor', label: 'Vendor' },
        ]}
        columns={[
          { key: 'product', label: 'Product', render: (r) => <a href={href(['findings'], { product: r.product })}>{r.product}</a> },
          { key: 'vendor', label: 'Vendor', render: (r) => r.vendor },
          { key: 'licence', label: 'Licence', render: (r) => <LicenceBadge licence={r.licence} /> },
          { key: 'status', label: 'Status', render: (r) => <Status status={r.status} /> },
          { key: 'containers', label: 'Running containers', numeric: true, render: (r) => num(r.containers) },
          { key: 'namespaces', label: 'Namespaces', numeric: true, render: (r) => num(r.namespaces) },
          { key: 'nodes', label: 'Nodes', numeric: true, render: (r) => num(r.nodes) },
        ]}
      />

      {o.ibmIncompleteAnnotationPods.length > 0 && (
        <section aria-labelledby="ibm-h">
          <h2 id="ibm-h">Pods with incomplete IBM License Service annotations</h2>
          <p class="muted">IBM License Service needs productID, productName and productMetric together; without them it counts the whole cluster.</p>
          <ul>
            {o.ibmIncompleteAnnotationPods.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </section>
      )}
      {o.errors.length > 0 && (
        <section aria-labelledby="err-h">
          <h2 id="err-h">{plural(o.counts.errors, 'target')} could not be scanned</h2>
          <ul>
            {o.errors.map((e, i) => (
              <li key={i}>
                <code>{e.target}</code>: {e.message}
              </li>
            ))}
          </ul>
        </section>
      )}
      <p class="muted small" data-role="counts">
        {plural(o.counts.nodes, 'node')}, {plural(o.counts.namespaces, 'namespace')}, {plural(o.counts.pods, 'pod')}, {plural(o.counts.containers, 'container')}, {plural(o.counts.images, 'image')}.
      </p>
    </>
  );
}
