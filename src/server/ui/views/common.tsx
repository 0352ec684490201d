import type { ComponentChild } from 'preact';
import { LicenceBadge, Status } from '../components/Badge.js';
import { num } from '../format.js';
import { href } from '../route.js';
import type { EvidenceRow, GpuRef, ProductRef } from '../../views/types.js';

export const nodeLink = (name: string | null) => (name ? <a href={href(['nodes', name])}>{name}</a> : '—');
export const nsLink = (ns: string | null) => (ns ? <a href={href(['namespaces', ns])}>{ns}</a> : '—');
export const podLink = (ns: string | null, pod: string | null) => (ns && pod ? <a href={href(['pods', ns, pod])}>{pod}</a> : (pod ?? '—'));

export function Products({ products }: { products: ProductRef[] }) {
  if (!products.length) return <span class="muted">none</span>;
  return (
    <ul class="plain">
      {products.map((p) => (
        <li key={p.id}>
          {p.product} {p.licence !== 'licensable' && <LicenceBadge licence={p.licence} />} {p.status && p.status !== 'ok' && <Status status={p.status} />}
        </li>
      ))}
    </ul>
  );
}

export function Gpus({ gpus }: { gpus: GpuRef[] }) {
  if (!gpus.length) return <span class="muted">none</span>;
  return (
    <ul class="plain">
      {gpus.map((g, i) => (
        <li key={i}>
          {num(g.count)}× {g.product ?? 'unknown model'} <span class="sku">{g.sku ?? 'SKU unknown'}</span>
        </li>
      ))}
    </ul>
  );
}

/** How a finding was made: where the bytes came from, then each piece of evidence and its rule. */
export function EvidenceChain({ image, imageDigest, method, evidence }: { image: string; imageDigest: string | null; method: string; evidence: EvidenceRow[] }) {
  const how = method === 'exec' ? 'read in the running container (exec)' : method === 'host' ? "read from the node's filesystem (agent)" : 'read from the image';
  return (
    <ol class="evidence">
      <li>
        Image <code>{image}</code>
        {imageDigest && (
          <>
            {' '}
            <code class="muted">{imageDigest.slice(0, 19)}…</code>
          </>
        )}
        , {how}
      </li>
      {evidence.map((e, i) => (
        <li key={i}>
          <strong>{e.kind}</strong>
          {e.path && (
            <>
              {' '}
              <code>{e.path}</code>
            </>
          )}
          {e.value && (
            <>
              {' '}
              = <code>{e.value}</code>
            </>
          )}{' '}
          <span class="muted">matched by rule {e.rule}</span>
        </li>
      ))}
    </ol>
  );
}

export function Facts({ items }: { items: Array<[string, ComponentChild]> }) {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
