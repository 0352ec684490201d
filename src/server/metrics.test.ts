import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { emptyReport } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';
import { createMetrics } from './metrics.js';

const oracle: ProductFinding = {
  id: 'oracle-database', vendor: 'Oracle', product: 'Oracle Database', edition: 'Enterprise Edition', version: '19.3.0.0.0',
  licenseMetric: 'per-core', licensable: true, confidence: 'high', evidence: [{ kind: 'file', path: '/opt/oracle/product/19c/dbhome_1/bin/oracle', rule: 'oracle-database/binary' }],
};

function sampleReport() {
  const r = emptyReport('0.1.0', new Date('2026-11-23T10:00:00Z'));
  r.containers.push(
    { id: 'a', name: 'db', pod: 'db-0', namespace: 'finance', node: 'n1', image: 'oracle/db:19', imageDigest: null, method: 'exec', products: [oracle] },
    { id: 'b', name: 'db', pod: 'db-1', namespace: 'finance', node: 'n1', image: 'oracle/db:19', imageDigest: null, method: 'exec', products: [oracle] },
  );
  r.usage.push({ productId: 'ibm-mq', productName: 'IBM MQ', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 2, pvu: 140, scope: 'cluster', cloudpakId: null, rule: 'ibm-container-licensing' });
  r.gpuSkus.push({ sku: 'NVAIE-H100', gpus: 8, nodes: ['gpu-1'] }, { sku: null, gpus: 2, nodes: ['gpu-2'] });
  r.entitlements = [
    { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', usageMetric: 'gpu', productIds: ['nvidia-ai-enterprise'], scope: 'nodes', sku: null, used: 30, owned: 32, percentage: 93.75, threshold: 80, status: 'warning', basis: 'x' },
    { product: 'Oracle Database', metric: 'core', usageMetric: 'core', productIds: ['oracle-database'], scope: 'cluster', sku: null, used: 4, owned: 0, percentage: null, threshold: null, status: 'unlicensed', basis: 'in use, no entitlement names it' },
  ];
  r.errors.push({ target: 'ns/pod', message: 'gone' });
  return r;
}

describe('metrics', () => {
  it('exposes the report as Prometheus metrics that promtool accepts', async () => {
    const m = createMetrics();
    m.update(sampleReport(), 1.5);
    m.admission.inc({ result: 'denied' });
    const text = await m.registry.metrics();
    expect(text).toMatch(/kensus_product_containers\{product_id="oracle-database",product="Oracle Database",edition="Enterprise Edition",namespace="finance",node="n1",cluster=""\} 2/);
    expect(text).toMatch(/kensus_license_usage_pvu\{product_id="ibm-mq",product="IBM MQ",metric="VIRTUAL_PROCESSOR_CORE",scope="cluster",sku="",cloudpak_id="",cluster=""\} 140/);
    expect(text).toMatch(/kensus_gpu_sku_gpus\{sku="unknown",cluster=""\} 2/);
    expect(text).toMatch(/kensus_unlicensed_installations\{product="Oracle Database",product_id="oracle-database",metric="core",scope="cluster",sku="",cluster=""\} 4/);
    expect(text).toMatch(/kensus_entitlement_status\{product="NVIDIA AI Enterprise",product_id="nvidia-ai-enterprise",metric="gpu",entitlement_metric="per-gpu",scope="nodes",sku="",namespaces="",clusters="",detection="",cluster="",status="warning"\} 1/);
    expect(text).toMatch(/kensus_build_info\{version="0.1.0",schema_version="1"\} 1/);
    expect(text).toMatch(/kensus_scan_errors 1/);
    expect(text).toMatch(/kensus_last_scan_timestamp_seconds 1795428000/);
    expect(existsSync('/usr/bin/promtool'), 'promtool missing: apt-get install prometheus (scripts/setup.sh)').toBe(true);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stderr + check.stdout).toBe('');
    expect(check.status).toBe(0);
  });

  it('drops products that disappeared from the next report', async () => {
    const m = createMetrics();
    m.update(sampleReport());
    m.update(emptyReport('0.1.0'));
    const text = await m.registry.metrics();
    expect(text).not.toMatch(/kensus_product_containers\{/);
    expect(text).toMatch(/kensus_scan_errors 0/);
  });

  it('ships alert rules that promtool checks and unit-tests', () => {
    const check = spawnSync('/usr/bin/promtool', ['check', 'rules', 'deploy/prometheus/kensus-rules.yml'], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync('/usr/bin/promtool', ['test', 'rules', 'kensus-rules.test.yml'], { encoding: 'utf8', cwd: 'deploy/prometheus' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain('SUCCESS');
  });
});
