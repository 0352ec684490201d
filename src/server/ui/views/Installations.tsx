import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.js';
import { Table } from '../components/Table.js';
import { when } from '../format.js';
import type { InstallationRow } from '../../views/types.js';
import { nsLink } from './common.js';

/** Every product seen running per workload and container, first and last seen (the store's `report installations`). */
export function Installations({ params, onError }: { params: Record<string, string>; onError: (e: Error) => void }) {
  const [kept, setKept] = useState<boolean | null>(null);
  useEffect(() => {
    getJson<{ installations: boolean }>('/api/v1/history-store')
      .then((s) => setKept(s.installations))
      .catch(onError);
  }, []);
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>Installations</h1>
        <p class="summary" data-role="installations-source">
          {kept === false
            ? 'Installations are kept by the history store: start kensus serve with --store to see when each was first and last seen.'
            : 'Each product in each container of each workload, from the history store: when a sweep first and last saw it running.'}
        </p>
      </header>
      <Table<InstallationRow>
        view="installations"
        title="Installations, first and last seen"
        initial={params}
        rowKey={(r) => r.key}
        filters={[
          { key: 'product', label: 'Product' },
          { key: 'namespace', label: 'Namespace' },
          { key: 'current', label: 'Running now' },
        ]}
        columns={[
          { key: 'product', label: 'Product', render: (r) => r.product },
          { key: 'vendor', label: 'Vendor', render: (r) => r.vendor },
          { key: 'namespace', label: 'Namespace', render: (r) => nsLink(r.namespace) },
          { key: 'workload', label: 'Workload', render: (r) => r.workload },
          { key: 'container', label: 'Container', render: (r) => r.container },
          { key: 'firstSeen', label: 'First seen', render: (r) => <time dateTime={r.firstSeen}>{when(r.firstSeen)}</time> },
          { key: 'lastSeen', label: 'Last seen', render: (r) => <time dateTime={r.lastSeen}>{when(r.lastSeen)}</time> },
          { key: 'current', label: 'Running now', render: (r) => (r.current ? 'yes' : 'no') },
        ]}
      />
    </>
  );
}
