import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Report } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';
import type { HistoryProvider } from './history.js';
import { historyOf, peakRows } from './views/history.js';
import { inventoryRows } from './views/inventory.js';
import { overviewOf, type SweepState } from './views/overview.js';
import { periodOf } from './views/period.js';
import { entitlementRows } from './views/products.js';
import { entitlementCsvSpec, entitlementSpec, findingSpec, gpuSpec, installationSpec, namespaceSpec, nodeSpec, peakSpec, podSpec, productCsvSpec, productSpec, usageSpec } from './views/specs.js';
import { csvOf, maxPageSize, pageOf, type TableSpec } from './views/table.js';
import { csvTable } from '../report/csv.js';

/** What the read API reads from: the latest report, the history, the sweep schedule. */
export interface ReadApiContext {
  current(): Report | null;
  history: HistoryProvider;
  sweep(): SweepState;
  now(): Date;
  version: string;
  findingsByImage: Map<string, ProductFinding[]>;
  timeoutMs: number;
}

type Query = Record<string, string | number | undefined>;

const text = { type: 'string', maxLength: 256 } as const;
const tableQuery = (filters: string[], sorts: string[]) => ({
  type: 'object',
  properties: {
    q: { type: 'string', maxLength: 200 },
    sort: { type: 'string', enum: sorts },
    order: { type: 'string', enum: ['asc', 'desc'] },
    page: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    pageSize: { type: 'integer', minimum: 1, maximum: maxPageSize },
    format: { type: 'string', enum: ['json', 'csv'] },
    from: text,
    to: text,
    quarter: text,
    ...Object.fromEntries(filters.map((f) => [f, text])),
  },
});

const stamp = (iso: string | null | undefined) => (iso ?? new Date().toISOString()).slice(0, 10);

function attachment(reply: FastifyReply, name: string, type: string, body: string | Buffer): FastifyReply {
  return reply.header('content-type', type).header('content-disposition', `attachment; filename="${name}"`).send(body);
}

/** The read API: `/api/v1/report`, `/api/v1/findings`, one JSON view per page view, downloads. */
export async function registerReadApi(app: FastifyInstance, ctx: ReadApiContext): Promise<void> {
  const config = { timeoutMs: ctx.timeoutMs };
  const rows = () => {
    const r = ctx.current();
    return r ? inventoryRows(r) : { nodes: [], namespaces: [], pods: [], findings: [], usage: [], gpus: [], products: [] };
  };

  app.get('/api/v1/report', { config }, async (_req, reply) => {
    const r = ctx.current();
    return r ? reply.type('application/json').send(JSON.stringify(r)) : reply.code(404).send({ message: 'no sweep has finished yet' });
  });

  app.get('/api/v1/findings', { config, schema: { querystring: { type: 'object', properties: { image: { type: 'string', maxLength: 1024 } } } } }, async (req, reply) => {
    const image = (req.query as Query).image as string | undefined;
    if (!image) return reply.code(400).send({ message: 'give ?image=REF or ?image=sha256:DIGEST' });
    const found = ctx.findingsByImage.get(image);
    return found ? { image, products: found } : reply.code(404).send({ message: `image ${image} has not been scanned` });
  });

  app.get('/api/v1/whoami', { config }, async (req) => ({ user: req.caller?.user ?? null, via: req.caller?.via ?? null }));

  app.get('/api/v1/views/overview', { config }, async () => {
    const now = ctx.now();
    const period = periodOf({}, now);
    const [quarter, clusters, coverage] = await Promise.all([ctx.history.usage({ from: period.from, to: period.to }), ctx.history.clusters(), ctx.history.coverage?.(now)]);
    return overviewOf(ctx.current(), { quarter, period, clusters, sweep: ctx.sweep(), version: ctx.version, coverage });
  });

  const periodQuery = { type: 'object', properties: { from: text, to: text, quarter: text, cluster: text } };
  app.get('/api/v1/views/history', { config, schema: { querystring: periodQuery } }, async (req) => {
    const q = req.query as Query as { from?: string; to?: string; quarter?: string; cluster?: string };
    const period = periodOf(q, ctx.now());
    const usage = await ctx.history.usage({ from: period.from, to: period.to, clusterId: q.cluster });
    const r = ctx.current();
    return historyOf(usage, period, r ? entitlementRows(r) : []);
  });

  /** A paged, filtered, sorted table, or all its selected rows as CSV (`format=csv`). */
  const table = <T>(name: string, spec: TableSpec<T>, source: (q: Query) => Promise<T[]> | T[], csvSpec: TableSpec<T> = spec) => {
    app.get(`/api/v1/views/${name}`, { config, schema: { querystring: tableQuery(Object.keys(spec.filters), spec.columns.map((c) => c.key)) } }, async (req, reply) => {
      const q = req.query as Query;
      const data = await source(q);
      const query = {
        q: q.q as string | undefined,
        sort: q.sort as string | undefined,
        order: q.order as 'asc' | 'desc' | undefined,
        page: q.page as number | undefined,
        pageSize: q.pageSize as number | undefined,
        filters: Object.fromEntries(Object.keys(spec.filters).map((f) => [f, q[f] as string | undefined])),
      };
      if (q.format === 'csv') return attachment(reply, `kensus-${name}-${stamp(ctx.current()?.scannedAt)}.csv`, 'text/csv; charset=utf-8', csvOf(data, csvSpec, query));
      return pageOf(data, spec, query);
    });
  };
  table('nodes', nodeSpec, () => rows().nodes);
  table('namespaces', namespaceSpec, () => rows().namespaces);
  table('pods', podSpec, () => rows().pods);
  table('findings', findingSpec, () => rows().findings);
  table('usage', usageSpec, () => rows().usage);
  table('gpus', gpuSpec, () => rows().gpus);
  table('products', productSpec, () => rows().products, productCsvSpec);
  table('entitlements', entitlementSpec, () => {
    const r = ctx.current();
    return r ? entitlementRows(r) : [];
  }, entitlementCsvSpec);
  // Installations come from the store (`report installations`); without one the table is empty and the page says why.
  table('installations', installationSpec, async () =>
    ((await ctx.history.installations?.()) ?? []).map(({ imageDigest: _digest, ...i }) => ({ key: [i.clusterId, i.productId, i.namespace, i.workload, i.container].join('/'), ...i })),
  );
  app.get('/api/v1/history-store', { config }, async () => ({ installations: Boolean(ctx.history.installations), coverage: Boolean(ctx.history.coverage) }));
  table('peaks', peakSpec, async (q) => {
    const period = periodOf(q as { from?: string; to?: string; quarter?: string }, ctx.now());
    return peakRows(await ctx.history.usage({ from: period.from, to: period.to }));
  });

  const name = { type: 'string', maxLength: 253 } as const;
  app.get('/api/v1/views/nodes/:name', { config, schema: { params: { type: 'object', properties: { name } } } }, async (req, reply) => {
    const n = (req.params as { name: string }).name;
    const node = rows().nodes.find((x) => x.name === n);
    if (!node) return reply.code(404).send({ message: `no node ${n} in the latest report` });
    return { node, usage: rows().usage.filter((u) => u.nodes.includes(n)) };
  });
  app.get('/api/v1/views/namespaces/:name', { config, schema: { params: { type: 'object', properties: { name } } } }, async (req, reply) => {
    const n = (req.params as { name: string }).name;
    const namespace = rows().namespaces.find((x) => x.namespace === n);
    if (!namespace) return reply.code(404).send({ message: `no namespace ${n} in the latest report` });
    return { namespace, usage: rows().usage.filter((u) => u.namespaces.includes(n)) };
  });
  app.get('/api/v1/views/pods/:namespace/:pod', { config, schema: { params: { type: 'object', properties: { namespace: name, pod: name } } } }, async (req, reply) => {
    const { namespace, pod } = req.params as { namespace: string; pod: string };
    const row = rows().pods.find((x) => x.namespace === namespace && x.pod === pod);
    if (!row) return reply.code(404).send({ message: `no pod ${namespace}/${pod} in the latest report` });
    return { pod: row, findings: rows().findings.filter((f) => f.namespace === namespace && f.pod === pod) };
  });

  // Downloads: the report formats of src/report/, rendered on demand from the latest report.
  const latestOr404 = (reply: FastifyReply): Report | null => {
    const r = ctx.current();
    if (!r) void reply.code(404).send({ message: 'no sweep has finished yet' });
    return r;
  };
  app.get('/api/v1/download/report.json', { config }, async (_req, reply) => {
    const r = latestOr404(reply);
    return r && attachment(reply, `kensus-report-${stamp(r.scannedAt)}.json`, 'application/json', JSON.stringify(r, null, 2));
  });
  app.get('/api/v1/download/cyclonedx.json', { config }, async (_req, reply) => {
    const r = latestOr404(reply);
    if (!r) return reply;
    const { renderCycloneDx } = await import('../report/cyclonedx.js');
    return attachment(reply, `kensus-cyclonedx-${stamp(r.scannedAt)}.json`, 'application/vnd.cyclonedx+json', renderCycloneDx(r));
  });
  const ndiFiles = async (r: Report) => (await import('../report/ndi.js')).renderNdiFiles(r);
  app.get('/api/v1/download/ndi', { config }, async (_req, reply) => {
    const r = latestOr404(reply);
    if (!r) return reply;
    return { files: [...(await ndiFiles(r))].map(([file, xml]) => ({ name: file, bytes: Buffer.byteLength(xml) })) };
  });
  app.get('/api/v1/download/ndi.tar', { config }, async (_req, reply) => {
    const r = latestOr404(reply);
    if (!r) return reply;
    const { tarArchive } = await import('../fixtures/tar-writer.js');
    const tar = tarArchive([...(await ndiFiles(r))].map(([file, xml]) => ({ name: file, content: Buffer.from(xml), mode: 0o644 })));
    return attachment(reply, `kensus-ndi-${stamp(r.scannedAt)}.tar`, 'application/x-tar', tar);
  });
  app.get('/api/v1/download/ndi/:file', { config, schema: { params: { type: 'object', properties: { file: { type: 'string', maxLength: 300, pattern: '^[A-Za-z0-9._-]+\\.ndi$' } } } } }, async (req, reply) => {
    const r = latestOr404(reply);
    if (!r) return reply;
    const file = (req.params as { file: string }).file;
    const xml = (await ndiFiles(r)).get(file);
    return xml === undefined ? reply.code(404).send({ message: `no file ${file} in the latest report's .ndi files` }) : attachment(reply, file, 'application/xml', xml);
  });
  app.get('/api/v1/download/usage', { config, schema: { querystring: { type: 'object', properties: { from: text, to: text, quarter: text, cluster: text, format: { type: 'string', enum: ['json', 'csv'] } } } } }, async (req, reply) => {
    const q = req.query as Query as { from?: string; to?: string; quarter?: string; cluster?: string; format?: string };
    const period = periodOf(q, ctx.now());
    const usage = await ctx.history.usage({ from: period.from, to: period.to, clusterId: q.cluster });
    const base = `kensus-usage-${q.quarter ?? `${period.from}_${period.to}`}`;
    if (q.format === 'csv') {
      const header = ['clusterId', 'productId', 'productName', 'metric', 'scope', 'sku', 'cloudpakId', 'day', 'quantity', 'peak', 'peakDay', 'peakPvu'];
      const lines = usage.peaks.flatMap((p) => p.daily.map((d) => [p.clusterId, p.productId, p.productName, p.metric, p.scope, p.sku, p.cloudpakId, d.day, d.quantity, p.quantity, p.day, p.pvu]));
      return attachment(reply, `${base}.csv`, 'text/csv; charset=utf-8', csvTable(header, lines));
    }
    return attachment(reply, `${base}.json`, 'application/json', JSON.stringify(usage, null, 2));
  });
}
