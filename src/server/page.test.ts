import { describe, expect, it } from 'vitest';
import { emptyReport } from '../model/report.js';
import { renderPage } from './page.js';

describe('web page', () => {
  it('says a sweep is running before the first report', () => {
    expect(renderPage(null)).toContain('No sweep has finished yet');
  });

  it('shows the figures and escapes what came from the cluster', () => {
    const r = emptyReport('0.1.0');
    r.gpuSkus.push({ sku: 'NVAIE-H100', gpus: 8, nodes: ['gpu-1'] });
    r.containers.push({
      id: 'x', name: '<script>alert(1)</script>', pod: 'p', namespace: 'ns', node: 'n', image: 'i', imageDigest: null, method: 'exec',
      products: [{ id: 'ibm-mq', vendor: 'IBM', product: 'IBM MQ', edition: null, version: '9.3.4.0', licenseMetric: 'VIRTUAL_PROCESSOR_CORE', licensable: true, confidence: 'high', evidence: [{ kind: 'file', rule: 'ibm-mq/x' }] }],
    });
    const html = renderPage(r);
    expect(html).toContain('<td>NVAIE-H100</td><td>8</td><td>gpu-1</td>');
    expect(html).toContain('IBM MQ 9.3.4.0');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});
