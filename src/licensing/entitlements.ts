import { minimatch } from 'minimatch';
import { parse as parseYaml } from 'yaml';
import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { EntitlementRow, EntitlementStatus, UsageRow } from '../model/report.js';
import { badInput } from '../errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { imageRepository } from '../inventory/metadata.js';

/**
 * Entitlements as in /work/shared/reference/flexera-kubernetes-license-management.txt:
 *
 *   entitlements:
 *     - product: "NVIDIA AI Enterprise"
 *       metric: "per-gpu"
 *       quantity: 32
 *       namespaces: [ai-inference, ml-training]
 *       alert-threshold: 80
 *
 * The file may also be the ConfigMap of the reference (data."entitlements.yaml").
 */
export interface Entitlement {
  product: string;
  metric: string;
  quantity: number;
  clusters?: string[];
  namespaces?: string[];
  'alert-threshold'?: number;
  /** "image:<glob>": the usage is counted from containers whose image matches. */
  detection?: string;
  /** Only GPUs of this SKU (per-GPU entitlements bought per SKU). */
  sku?: string;
}

export type { EntitlementStatus } from '../model/report.js';
/** The result of one entitlement (the report's `entitlements` rows). */
export type EntitlementResult = EntitlementRow;

const entitlementSchema = {
  type: 'object',
  required: ['entitlements'],
  additionalProperties: false,
  properties: {
    entitlements: {
      type: 'array',
      items: {
        type: 'object',
        required: ['product', 'metric', 'quantity'],
        additionalProperties: false,
        properties: {
          product: { type: 'string', minLength: 1 },
          metric: { type: 'string', minLength: 1 },
          quantity: { type: 'number', minimum: 0 },
          clusters: { type: 'array', items: { type: 'string', minLength: 1 } },
          namespaces: { type: 'array', items: { type: 'string', minLength: 1 } },
          'alert-threshold': { type: 'number', minimum: 0, maximum: 100 },
          detection: { type: 'string', pattern: '^image:.+' },
          sku: { type: 'string', minLength: 1 },
        },
      },
    },
  },
} as const;

const fixes: Record<string, string> = {
  product: 'name the product as Kensus reports it, e.g. product: "NVIDIA AI Enterprise"',
  metric: 'e.g. metric: per-gpu, per-instance, per-core, core-pair, VIRTUAL_PROCESSOR_CORE, PROCESSOR_VALUE_UNIT',
  quantity: 'the number of licences owned, e.g. quantity: 32',
  'alert-threshold': 'a percentage between 0 and 100, e.g. alert-threshold: 80',
  detection: 'e.g. detection: "image:mongodb-enterprise-*"',
  clusters: 'a list of cluster names, e.g. clusters: [prod-cluster-1]',
  namespaces: 'a list of namespaces, e.g. namespaces: [ai-inference]',
  entitlements: 'the file needs a top-level list: entitlements: [ { product, metric, quantity } ]',
};

function describe(file: string, e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').split('/').filter(Boolean);
  const where = path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  if (e.keyword === 'required') {
    const field = (e.params as { missingProperty: string }).missingProperty;
    return `${file}: ${where ? `${where}: ` : ''}missing field '${field}' (${fixes[field] ?? 'add it'})`;
  }
  if (e.keyword === 'additionalProperties') {
    const field = (e.params as { additionalProperty: string }).additionalProperty;
    return `${file}: ${where ? `${where}: ` : ''}unknown field '${field}' (allowed: ${Object.keys(entitlementSchema.properties.entitlements.items.properties).join(', ')})`;
  }
  const field = path[path.length - 1] ?? 'entitlements';
  return `${file}: ${where}: ${e.message ?? 'is invalid'} (${fixes[field] ?? 'fix the value'})`;
}

let validator: ValidateFunction | undefined;

/** Validates parsed entitlements; errors name the file, the field and the fix. */
export async function validateEntitlements(doc: unknown, file: string): Promise<Entitlement[]> {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(entitlementSchema);
  let data = doc;
  const cm = doc as { kind?: string; data?: Record<string, string> } | null;
  if (cm?.kind === 'ConfigMap') {
    const inner = cm.data?.['entitlements.yaml'];
    if (typeof inner !== 'string') throw badInput(`${file}: ConfigMap has no data."entitlements.yaml"`, 'put the entitlements list under data."entitlements.yaml"');
    data = parseYaml(inner);
  }
  if (!validator(data)) {
    const msgs = (validator.errors ?? []).map((e) => describe(file, e));
    throw badInput(msgs[0], msgs.length > 1 ? `${msgs.length - 1} more problem(s): ${msgs.slice(1).join('; ')}` : undefined);
  }
  return (data as { entitlements: Entitlement[] }).entitlements;
}

export async function loadEntitlements(file: string): Promise<Entitlement[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(`cannot read entitlements file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check the --entitlements path');
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw badInput(`entitlements file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  return validateEntitlements(doc, file);
}

/** "per-gpu" → "gpu", "VPC" → "virtual_processor_core", "subscription" → "core-pair". */
export function normalizeMetric(metric: string): string {
  const m = metric.trim().toLowerCase().replace(/^per[-_ ]/, '');
  const aliases: Record<string, string> = {
    vpc: 'virtual_processor_core',
    'virtual-processor-core': 'virtual_processor_core',
    pvu: 'processor_value_unit',
    'processor-value-unit': 'processor_value_unit',
    processor: 'core',
    'core-pairs': 'core-pair',
    subscription: 'core-pair',
    '2-core-subscription': 'core-pair',
    instances: 'instance',
    server: 'instance',
    gpus: 'gpu',
    nodes: 'node',
    cores: 'core',
  };
  return aliases[m] ?? m;
}

function norm(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
}

/** Product names match by id, by name, or when the entitlement names the start of the product name. */
export function productMatches(ent: string, row: Pick<UsageRow, 'productId' | 'productName'>): boolean {
  const e = norm(ent);
  const name = norm(row.productName);
  return e === norm(row.productId) || e === name || name.startsWith(`${e} `) || e.startsWith(`${name} `);
}

/**
 * The rows that stand for a product's licence need: bundled Cloud Pak programs count toward
 * their Cloud Pak, NVAIE 'allocated' is the narrower reading of 'nodes', and OpenShift cores
 * are the basis of core pairs.
 */
export function primaryRows(usage: UsageRow[]): UsageRow[] {
  return usage.filter((u) => countsForEntitlements(u) && u.scope !== 'allocated' && !(u.productId === 'openshift-container-platform' && u.metric === 'core'));
}

/**
 * Bundled Cloud Pak programs count toward their Cloud Pak, never on their own; a full-capacity
 * row is an exposure shown beside the container figure, not a second use of the product.
 */
function countsForEntitlements(u: UsageRow): boolean {
  return u.scope !== 'bundled-product' && u.scope !== 'full-capacity';
}

export interface ReconcileOptions {
  clusterName?: string | null;
}

function statusOf(used: number, owned: number, threshold: number | null): { percentage: number | null; status: EntitlementStatus } {
  const percentage = owned > 0 ? Math.round((used / owned) * 1000) / 10 : null;
  if (used > owned) return { percentage, status: 'over' };
  if (threshold !== null && percentage !== null && percentage >= threshold) return { percentage, status: 'warning' };
  return { percentage, status: 'ok' };
}

function detectionUsage(ent: Entitlement, inv: Inventory): number {
  const glob = ent.detection!.slice('image:'.length);
  const metric = normalizeMetric(ent.metric);
  const hits = inv.containers.filter((c) => {
    if (!c.running) return false;
    if (ent.namespaces?.length && !ent.namespaces.includes(c.pod.namespace)) return false;
    const repo = imageRepository(c.container.image);
    const last = repo.slice(repo.lastIndexOf('/') + 1);
    return minimatch(repo, glob, { nocase: true }) || minimatch(last, glob, { nocase: true });
  });
  if (metric === 'node') return new Set(hits.map((c) => c.node)).size;
  if (metric === 'gpu') return hits.reduce((a, c) => a + c.container.gpus, 0);
  return hits.length;
}

/**
 * The metric as usage rows spell it, so entitlement and usage figures join (metrics labels):
 * "per-gpu" → "gpu", "VPC" → "VIRTUAL_PROCESSOR_CORE"; IBM's own upper-case names stay.
 */
export function usageMetricName(metric: string): string {
  const trimmed = metric.trim();
  if (/^[A-Z][A-Z0-9_]*$/.test(trimmed) && trimmed.includes('_')) return trimmed;
  const m = normalizeMetric(trimmed);
  if (m === 'virtual_processor_core') return 'VIRTUAL_PROCESSOR_CORE';
  if (m === 'processor_value_unit') return 'PROCESSOR_VALUE_UNIT';
  return m;
}

/**
 * Entitlements that describe the same licence (product, metric, namespaces, SKU, clusters,
 * detection) are one: two purchases of it add up.
 */
function sameLicence(entitlements: Entitlement[]): Array<{ ent: Entitlement; count: number }> {
  const byKey = new Map<string, { ent: Entitlement; count: number }>();
  for (const ent of entitlements) {
    const key = JSON.stringify([norm(ent.product), normalizeMetric(ent.metric), [...(ent.namespaces ?? [])].sort(), ent.sku ?? '', [...(ent.clusters ?? [])].sort(), ent.detection ?? '']);
    const prev = byKey.get(key);
    if (!prev) {
      byKey.set(key, { ent: { ...ent }, count: 1 });
      continue;
    }
    prev.count++;
    prev.ent.quantity += ent.quantity;
    const t = ent['alert-threshold'];
    if (t !== undefined) prev.ent['alert-threshold'] = Math.min(t, prev.ent['alert-threshold'] ?? t);
  }
  return [...byKey.values()];
}

const joined = (values: Iterable<string>): string | null => {
  const list = [...new Set(values)].sort();
  return list.length ? list.join(',') : null;
};

/**
 * Holds usage against entitlements. Every entitlement gets used/owned/percentage/status; every
 * licensable product in use that no entitlement names is reported 'unlicensed'. Each result says
 * which usage rows it stands for (productIds, scope, sku), so metrics can join them.
 */
export function reconcile(entitlements: Entitlement[], usage: UsageRow[], inv: Inventory | null, opts: ReconcileOptions = {}): EntitlementResult[] {
  const results: EntitlementResult[] = [];
  const covered = new Set<string>();
  for (const { ent, count } of sameLicence(entitlements)) {
    const threshold = ent['alert-threshold'] ?? null;
    const matching = usage.filter((u) => productMatches(ent.product, u));
    for (const u of matching) covered.add(u.productId);
    const base = {
      product: ent.product,
      metric: ent.metric,
      usageMetric: usageMetricName(ent.metric),
      owned: ent.quantity,
      threshold,
      sku: ent.sku ?? null,
      ...(ent.namespaces ? { namespaces: ent.namespaces } : {}),
      ...(ent.clusters ? { clusters: ent.clusters } : {}),
      ...(ent.detection ? { detection: ent.detection } : {}),
    };
    const summed = count > 1 ? ` (${count} entitlements of this licence, quantities added)` : '';
    if (ent.clusters?.length && !(opts.clusterName && ent.clusters.includes(opts.clusterName))) {
      results.push({ ...base, productIds: [...new Set(matching.map((u) => u.productId))].sort(), scope: null, used: 0, percentage: null, status: 'not-applicable', basis: `entitlement is for cluster(s) ${ent.clusters.join(', ')}; this is ${opts.clusterName ?? 'an unnamed cluster'}${summed}` });
      continue;
    }
    if (ent.detection) {
      if (!inv) throw badInput(`entitlement for ${ent.product} uses detection, which needs the cluster inventory`, 'run it with kensus scan cluster');
      const used = detectionUsage(ent, inv);
      results.push({ ...base, productIds: [], scope: 'detection', used, ...statusOf(used, ent.quantity, threshold), basis: `running containers matching ${ent.detection}${summed}` });
      continue;
    }
    const metric = normalizeMetric(ent.metric);
    const ns = ent.namespaces?.length ? new Set(ent.namespaces) : null;
    let rows = matching.filter((u) => normalizeMetric(u.metric) === metric && countsForEntitlements(u));
    if (ent.sku) rows = rows.filter((u) => u.sku === ent.sku);
    // Namespace-bound GPU entitlements count the GPUs allocated there; otherwise whole nodes.
    const hasAllocated = rows.some((u) => u.scope === 'allocated');
    rows = rows.filter((u) => (hasAllocated ? (ns ? u.scope === 'allocated' : u.scope !== 'allocated') : true));
    let used = 0;
    const parts: string[] = [];
    for (const u of rows) {
      let q = u.quantity;
      const byNs = u.byNamespace;
      if (ns && byNs) q = Object.entries(byNs).reduce((a, [k, v]) => a + (ns.has(k) ? v : 0), 0);
      else if (ns && Array.isArray(u.namespaces) && !u.namespaces.some((n) => ns.has(n))) q = 0;
      used += q;
      parts.push(`${u.productName} ${u.metric}${u.sku !== undefined ? ` ${u.sku ?? 'unknown SKU'}` : ''} (${u.scope}) ${q}`);
    }
    results.push({
      ...base,
      productIds: [...new Set(rows.map((u) => u.productId))].sort(),
      scope: joined(rows.map((u) => u.scope)),
      used,
      ...statusOf(used, ent.quantity, threshold),
      basis: (parts.join(' + ') || `no usage of ${ent.product} measured as ${ent.metric}`) + summed,
    });
  }
  // Products in use that no entitlement names.
  const unlicensed = new Map<string, { productId: string; product: string; metric: string; scopes: Set<string>; used: number }>();
  for (const u of primaryRows(usage)) {
    if (covered.has(u.productId) || u.quantity <= 0 || u.licensable === false) continue;
    const key = `${u.productId}\u0000${u.metric}`;
    const acc = unlicensed.get(key) ?? { productId: u.productId, product: u.productName, metric: u.metric, scopes: new Set<string>(), used: 0 };
    acc.used += u.quantity;
    acc.scopes.add(u.scope);
    unlicensed.set(key, acc);
  }
  for (const u of unlicensed.values()) {
    results.push({
      product: u.product,
      metric: u.metric,
      usageMetric: u.metric,
      productIds: [u.productId],
      scope: joined(u.scopes),
      sku: null,
      used: u.used,
      owned: 0,
      percentage: null,
      threshold: null,
      status: 'unlicensed',
      basis: 'in use, no entitlement names it',
    });
  }
  return results;
}

const severity: Record<string, number> = { ok: 0, 'not-applicable': 0, warning: 1, over: 2, unlicensed: 3 };

/**
 * `--fail-on warning|over|unlicensed`: true when an entitlement reached that status or a worse
 * one (warning < over < unlicensed).
 */
export function failsOn(results: EntitlementResult[], failOn: 'warning' | 'over' | 'unlicensed'): boolean {
  const min = severity[failOn];
  return results.some((r) => severity[r.status] >= min);
}

/** Covers a product in a namespace: same product (by id or name) and, if listed, the namespace. */
export function entitlementCovers(entitlements: Entitlement[], product: { id: string; product: string }, namespace: string): boolean {
  return entitlements.some(
    (e) => productMatches(e.product, { productId: product.id, productName: product.product }) && (!e.namespaces?.length || e.namespaces.includes(namespace)),
  );
}
