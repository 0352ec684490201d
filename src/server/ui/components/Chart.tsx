import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { HistoryChart } from '../../views/types.js';

/** Line colours with at least 3:1 contrast on white (WCAG non-text contrast). */
const colours = ['#1f5fbf', '#b35900', '#2e7d32', '#7b3fa0', '#00838f', '#8d6e00'];
const ownedColour = '#c62828';

const toSeconds = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/**
 * Daily figures of one product and metric over the period as lines (uPlot, bundled), and what
 * is owned as a dashed line. The same numbers are in the table under each chart.
 */
export function Chart({ chart, days }: { chart: HistoryChart; days: string[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const xs = days.map(toSeconds);
    const series = chart.series.map((s) => {
      const byDay = new Map(s.daily.map((d) => [d.day, d.quantity]));
      return days.map((d) => byDay.get(d) ?? null);
    });
    const data: uPlot.AlignedData = [xs, ...series, ...(chart.owned !== null ? [days.map(() => chart.owned)] : [])];
    const width = Math.max(280, Math.min(box.current.clientWidth || 800, 1100));
    const plot = new uPlot(
      {
        width,
        height: 220,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max ?? 1, chart.owned ?? 0) * 1.15 || 1] } },
        axes: [{ stroke: '#333' }, { stroke: '#333', label: chart.metric }],
        series: [
          { label: 'Day' },
          ...chart.series.map((s, i) => ({ label: s.label || 'used', stroke: colours[i % colours.length], width: 2, spanGaps: true, points: { show: true, size: 6 } })),
          ...(chart.owned !== null ? [{ label: 'owned', stroke: ownedColour, width: 2, dash: [8, 6], points: { show: false } }] : []),
        ],
        legend: { show: true },
      },
      data,
      box.current,
    );
    return () => plot.destroy();
  }, [chart, days]);
  const peaks = chart.series.map((s) => `${s.label || 'used'} peaked at ${s.peak.quantity} on ${s.peak.day}`).join('; ');
  return <div class="chart" ref={box} role="img" aria-label={`${chart.productName}, ${chart.metric}: ${peaks}${chart.owned !== null ? `; ${chart.owned} owned` : ''}`} />;
}
