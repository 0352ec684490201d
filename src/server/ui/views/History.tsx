import { useEffect, useState } from 'preact/hooks';
import { download, getJson } from '../api.js';
import { Chart } from '../components/Chart.js';
import { Table } from '../components/Table.js';
import { num } from '../format.js';
import type { HistoryView, PeakRow } from '../../views/types.js';

const dayMs = 86_400_000;
const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
const addDays = (day: string, n: number) => iso(Date.parse(`${day}T00:00:00Z`) + n * dayMs);

function quarterStart(day: string, back = 0): string {
  const d = new Date(`${day}T00:00:00Z`);
  const q = Math.floor(d.getUTCMonth() / 3) - back;
  return iso(Date.UTC(d.getUTCFullYear(), q * 3, 1));
}

/** Daily licence figures over a period (default this quarter, at most two years), used vs owned. */
export function History({ params, onError }: { params: Record<string, string>; onError: (e: Error) => void }) {
  const [period, setPeriod] = useState<{ from?: string; to?: string }>({ from: params.from, to: params.to });
  const [view, setView] = useState<HistoryView | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [fromInput, setFromInput] = useState(params.from ?? '');
  const [toInput, setToInput] = useState(params.to ? addDays(params.to, -1) : '');

  useEffect(() => {
    getJson<HistoryView>('/api/v1/views/history', period)
      .then((v) => {
        setView(v);
        setProblem(null);
        setFromInput(v.period.from);
        setToInput(addDays(v.period.to, -1));
      })
      .catch((e: Error & { status?: number }) => (e.status === 400 ? setProblem(e.message) : onError(e)));
  }, [period.from, period.to]);

  const today = iso(Date.now());
  const presets: Array<[string, () => { from: string; to: string }]> = [
    ['This quarter', () => ({ from: quarterStart(today), to: quarterStart(today, -1) })],
    ['Last quarter', () => ({ from: quarterStart(today, 1), to: quarterStart(today) })],
    ['Last 30 days', () => ({ from: addDays(today, -29), to: addDays(today, 1) })],
    ['Last 12 months', () => ({ from: addDays(today, -364), to: addDays(today, 1) })],
    ['Last 2 years', () => ({ from: addDays(today, -729), to: addDays(today, 1) })],
  ];
  const p = view?.period;
  return (
    <>
      <header class="view-head">
        <h1 tabIndex={-1}>History</h1>
        <p class="summary">Daily licence figures (the day&apos;s highest value), used against owned.</p>
      </header>
      <form
        class="toolbar period"
        aria-label="Period"
        onSubmit={(e) => {
          e.preventDefault();
          setPeriod({ from: fromInput, to: addDays(toInput, 1) });
        }}
      >
        <label>
          <span>From</span>
          <input type="date" required value={fromInput} onInput={(e) => setFromInput((e.target as HTMLInputElement).value)} data-role="from" />
        </label>
        <label>
          <span>To (included)</span>
          <input type="date" required value={toInput} onInput={(e) => setToInput((e.target as HTMLInputElement).value)} data-role="to" />
        </label>
        <button type="submit">Show</button>
        {presets.map(([label, make]) => (
          <button key={label} type="button" class="secondary" onClick={() => setPeriod(make())}>
            {label}
          </button>
        ))}
      </form>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {p && (
        <p aria-live="polite" data-role="period">
          {p.label}: {p.from} to {addDays(p.to, -1)} ·{' '}
          <button type="button" class="link" onClick={() => void download('/api/v1/download/usage', { from: p.from, to: p.to, format: 'json' })}>
            Usage report (JSON)
          </button>{' '}
          ·{' '}
          <button type="button" class="link" onClick={() => void download('/api/v1/download/usage', { from: p.from, to: p.to, format: 'csv' })}>
            Usage report (CSV)
          </button>
        </p>
      )}
      {view && view.charts.length === 0 && <p class="muted">No licence figures were recorded in this period.</p>}
      <div class="charts">
        {view?.charts.map((c) => (
          <figure key={`${c.productId}|${c.metric}`} class="chart-box" data-chart={`${c.productName} ${c.metric}`}>
            <figcaption>
              <strong>{c.productName}</strong> — {c.metric}
              {c.owned !== null ? ` · ${num(c.owned)} owned` : ' · no entitlement names it'}
            </figcaption>
            <Chart chart={c} days={view.days} />
            <details>
              <summary>Daily figures as a table</summary>
              <div class="scroll" role="region" aria-label={`Daily figures of ${c.productName} ${c.metric}`} tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Day</th>
                      {c.series.map((s) => (
                        <th key={s.key} scope="col" class="num">
                          {s.label || 'used'}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {[...new Set(c.series.flatMap((s) => s.daily.map((d) => d.day)))].sort().map((day) => (
                      <tr key={day}>
                        <th scope="row">{day}</th>
                        {c.series.map((s) => (
                          <td key={s.key} class="num">
                            {num(s.daily.find((d) => d.day === day)?.quantity ?? null)}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </details>
          </figure>
        ))}
      </div>
      {p && (
        <Table<PeakRow>
          key={`${p.from}|${p.to}`}
          view="peaks"
          title="Peaks in the period"
          extra={{ from: p.from, to: p.to }}
          rowKey={(r) => r.key}
          filters={[
            { key: 'product', label: 'Product' },
            { key: 'metric', label: 'Metric' },
            { key: 'scope', label: 'Scope' },
          ]}
          columns={[
            { key: 'productName', label: 'Product', render: (r) => r.productName },
            { key: 'metric', label: 'Metric', render: (r) => r.metric },
            { key: 'scope', label: 'Scope', render: (r) => r.scope },
            { key: 'sku', label: 'SKU', render: (r) => r.sku ?? '—' },
            { key: 'quantity', label: 'Peak', numeric: true, render: (r) => num(r.quantity) },
            { key: 'pvu', label: 'PVU', numeric: true, render: (r) => num(r.pvu) },
            { key: 'day', label: 'Day', render: (r) => r.day },
          ]}
        />
      )}
    </>
  );
}
