/**
 * `npm run bench:store [-- --quick]`: the history store at scale (issue 14).
 *
 * A generated cluster snapshot (200 nodes; 10,000 pods over 1,000 images, every tenth pod an IBM
 * MQ queue manager; the crash test's cluster shape, test/support/store-crash-cluster.ts) is
 * recorded by the built CLI (`kensus sweep --snapshot … --metadata-only`) into SQLite and into
 * PostgreSQL (the test server of test/support/postgres.ts): wall time and peak RSS (GNU time) of
 * the first sweep and of the next day's, the store's size, and the same at 2,500 and 5,000 pods
 * (memory should stay flat as the cluster grows). Then the quarter: the daily figures of the
 * recorded days are copied over all 92 days of 2026Q3 (the figures of a 90-day quarter, as
 * many rows as daily sweeps would leave) and `kensus report usage --quarter 2026Q3 --format
 * json` is timed; the goal is under 2 s. Then licence-aware admission: `headroomFor` (an IBM MQ
 * pod against a VPC entitlement) answered from the store, median and worst of 200 calls.
 * Writes bench/store-results.md (the full run; `--quick` only prints). `npm run bench` runs the
 * quick form (2,500 pods) and puts its table into bench/results.md.
 */
import { statSync, writeFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { rawNode, rawPod } from '../test/support/cluster-objects.js';
import { crashCluster } from '../test/support/store-crash-cluster.js';
import { ensurePostgres, freshPostgresDatabase } from '../test/support/postgres.js';
import { openStore, type Store } from '../src/store/open.js';
import { headroomFor } from '../src/store/headroom.js';
import { sq, timeShell, type Sample } from './measure.js';

const here = dirname(fileURLToPath(import.meta.url));
let work = '';

function snapshotOf(pods: number): string {
  const { nodes, pods: specs } = crashCluster(pods / 10, pods);
  // 200 nodes: the 20 of the crash cluster repeated with their own names.
  const allNodes = Array.from({ length: 10 }, (_, k) => nodes.map((n) => ({ ...n, name: `${n.name}-${k}` }))).flat();
  const placed = specs.map((p, i) => ({ ...p, node: `${p.node}-${Math.floor(i / 20) % 10}` }));
  const file = join(work, `snapshot-${pods}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...allNodes.map(rawNode), ...placed.map(rawPod)] }));
  return file;
}

const sweepCmd = (url: string, snapshot: string, day: string) =>
  `node bin/kensus.js sweep --store ${sq(url)} --snapshot ${sq(snapshot)} --observed-at ${day}T02:00:00Z --cluster-id bench --metadata-only --format json > /dev/null`;

async function sizeOf(kind: string, url: string, store: Store): Promise<number> {
  if (kind === 'sqlite') {
    const file = url.slice('sqlite:'.length);
    return readdirSync(dirname(file)).filter((f) => f.startsWith('kensus.db')).reduce((a, f) => a + statSync(join(dirname(file), f)).size, 0);
  }
  const r = await sql<{ n: string }>`select pg_database_size(current_database()) as n`.execute(store.db);
  return Number(r.rows[0].n);
}

/** The recorded days' figures copied over every day of 2026Q3 (as daily sweeps would leave them). */
async function fillQuarter(store: Store): Promise<number> {
  const rows = await store.db.selectFrom('daily_usage').selectAll().where('day', '=', '2026-07-01').execute();
  const days: string[] = [];
  for (let d = new Date('2026-07-03T00:00:00Z'); d < new Date('2026-10-01T00:00:00Z'); d.setUTCDate(d.getUTCDate() + 1)) days.push(d.toISOString().slice(0, 10));
  for (const day of days) {
    await store.db.insertInto('daily_usage').values(rows.map((r) => ({ ...r, day, peak_at: `${day}T02:00:00.000Z` }))).execute();
    await store.db.insertInto('usage_days').values({ cluster_id: 'bench', day, samples: 1, first_at: `${day}T02:00:00.000Z`, last_at: `${day}T02:00:00.000Z` }).execute();
  }
  return days.length + 2;
}

interface Row {
  store: string;
  pods: number;
  first: Sample;
  next: Sample;
  bytes: number;
  quarter?: Sample;
  quarterDays?: number;
  /** headroomFor: median and worst of 200 calls (ms). */
  headroom?: { medianMs: number; maxMs: number };
}

export interface StoreBench {
  quick: boolean;
  rows: Row[];
}

/** Licence-aware admission answered from the store: one MQ pod of 2 cores against a VPC entitlement. */
async function timeHeadroom(store: Store): Promise<{ medianMs: number; maxMs: number }> {
  const pod = [{ productId: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', scope: 'cluster', quantity: 2 }];
  const ents = [{ product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 100_000 }];
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    const h = await headroomFor(store, 'bench', pod, ents);
    times.push(performance.now() - t0);
    if (h.length !== 1) throw new Error(`headroomFor gave ${h.length} rows, not 1`);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[100], maxMs: times[times.length - 1] };
}

const fmtS = (s: Sample) => (s.ok ? `${(s.wallMs / 1000).toFixed(2)} s` : `failed: ${s.error}`);
const fmtMb = (s: Sample) => (s.rssKb ? `${Math.round(s.rssKb / 1024)} MB` : '-');

/** Whether the sweep's peak RSS stays flat as the cluster grows (the issue's goal), per store. */
function memoryNote(rows: Row[]): string[] {
  const out: string[] = [];
  for (const kind of ['sqlite', 'postgres']) {
    const mine = rows.filter((r) => r.store === kind && r.first.rssKb);
    if (mine.length < 2) continue;
    const [a, b] = [mine[0], mine[mine.length - 1]];
    const perPod = (b.first.rssKb! - a.first.rssKb!) / (b.pods - a.pods);
    out.push(`Memory (${kind}): ${Math.round(a.first.rssKb! / 1024)} MB at ${a.pods} pods, ${Math.round(b.first.rssKb! / 1024)} MB at ${b.pods}: ${perPod.toFixed(1)} KB per pod more (goal: flat; ${perPod < 2 ? 'met' : 'missed: the snapshot, the cluster model and its report are held in memory as scan cluster holds them'}).`);
  }
  return out;
}

/** Records the generated clusters into both stores and reports a quarter (`quick`: 2,500 pods only). */
export async function benchStore(root: string, quick: boolean, say: (m: string) => void): Promise<StoreBench> {
  const sizes = quick ? [2500] : [2500, 5000, 10000];
  work = mkdtempSync(join(tmpdir(), 'kensus-bench-store-'));
  await ensurePostgres().then((p) => (process.env.KENSUS_TEST_POSTGRES_URL = p.url));
  const rows: Row[] = [];
  for (const pods of sizes) {
    const snapshot = snapshotOf(pods);
    for (const kind of ['sqlite', 'postgres'] as const) {
      const pg = kind === 'postgres' ? await freshPostgresDatabase() : null;
      const url = pg ? pg.url : `sqlite:${join(work, `${kind}-${pods}`, 'kensus.db')}`;
      say(`${kind}, ${pods} pods`);
      const first = await timeShell(sweepCmd(url, snapshot, '2026-07-01'), 600_000, root);
      const next = await timeShell(sweepCmd(url, snapshot, '2026-07-02'), 600_000, root);
      const store = await openStore(url);
      const row: Row = { store: kind, pods, first, next, bytes: await sizeOf(kind, url, store) };
      if (pods === sizes[sizes.length - 1]) {
        row.quarterDays = await fillQuarter(store);
        row.quarter = await timeShell(`node bin/kensus.js report usage --store ${sq(url)} --quarter 2026Q3 --cluster bench --format json > /dev/null`, 120_000, root);
        row.headroom = await timeHeadroom(store);
      }
      await store.close();
      await pg?.drop();
      rows.push(row);
    }
  }
  rmSync(work, { recursive: true, force: true });
  return { quick, rows };
}

/** The results as markdown (bench/store-results.md, and the store section of bench/results.md). */
export function storeMarkdown(b: StoreBench, heading = '# History store benchmark (`npm run bench:store`)'): string[] {
  const { rows, quick } = b;
  const h = rows.filter((r) => r.headroom);
  return [
    heading,
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.versions.node}, load average ${loadavg()[0].toFixed(1)} at the end${quick ? ', --quick' : ''}.`,
    'Generated snapshot: 200 nodes, pods over pods/10 images, every tenth pod IBM MQ; `kensus sweep --snapshot --metadata-only` of the built CLI.',
    '',
    '| store | pods | first sweep | its peak RSS | next day\'s sweep | its peak RSS | store size | 2026Q3 report (days) | headroomFor median / worst |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.pods} | ${fmtS(r.first)} | ${fmtMb(r.first)} | ${fmtS(r.next)} | ${fmtMb(r.next)} | ${(r.bytes / 1024 ** 2).toFixed(1)} MB | ${r.quarter ? `${fmtS(r.quarter)} (${r.quarterDays})` : ''} | ${r.headroom ? `${r.headroom.medianMs.toFixed(1)} / ${r.headroom.maxMs.toFixed(1)} ms` : ''} |`,
    ),
    '',
    `Goal: the quarter reported in under 2 s: ${rows.filter((r) => r.quarter).every((r) => r.quarter!.ok && r.quarter!.wallMs < 2000) ? 'met' : 'missed'}.`,
    ...(h.length ? [`Licence-aware admission from the store (headroomFor, two reads by key): worst ${Math.max(...h.map((r) => r.headroom!.maxMs)).toFixed(1)} ms of 200 calls per store (the webhook's deadline is seconds).`] : []),
    ...memoryNote(rows),
    '',
  ];
}

// Run directly (`npm run bench:store [-- --quick]`): the full run writes bench/store-results.md.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const b = await benchStore(resolve(here, '..'), quick, (m) => process.stderr.write(`[bench:store] ${m}\n`));
  const lines = storeMarkdown(b);
  if (!quick) writeFileSync(join(here, 'store-results.md'), lines.join('\n'));
  process.stdout.write(lines.join('\n'));
}
