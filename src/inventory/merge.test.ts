import { describe, expect, it } from 'vitest';
import type { ProductFinding } from '../model/finding.js';
import { contentFindings, mergeFindings, tagEvidence } from './merge.js';

const ace = (version: string | null, evidence: ProductFinding['evidence']): ProductFinding => ({
  id: 'ibm-app-connect-enterprise', vendor: 'IBM', product: 'IBM App Connect Enterprise', edition: null, version, licenseMetric: 'VIRTUAL_PROCESSOR_CORE', licensable: true, confidence: 'high', evidence,
});
const file = { kind: 'file' as const, path: '/opt/ibm/ace-11/server/bin/IntegrationServer', rule: 'ibm-app-connect-enterprise/integration-server' };
const label = { kind: 'label' as const, path: 'version', rule: 'ibm-app-connect-enterprise/version-label', value: '11.0.0.13' };

describe('merging findings of one container', () => {
  it('keeps the lead finding, refines its version by an agreeing more precise one, and says who saw what', () => {
    const [merged] = mergeFindings(tagEvidence([ace('11', [file])], 'exec'), tagEvidence([ace('11.0.0.13', [file, label])], 'image'));
    expect(merged.version).toBe('11.0.0.13');
    expect(merged.evidence.map((e) => `${e.kind}:${e.method}`)).toEqual(['file:exec', 'file:image', 'label:image']);
  });

  it('does not take a disagreeing version, and takes an edition with its licensable', () => {
    const java = (edition: string | null, licensable: boolean | null, version: string | null): ProductFinding => ({ ...ace(version, [file]), id: 'x', edition, licensable });
    expect(mergeFindings([java(null, null, '12.0')], [java('Express', false, '11.0.0.13')])[0]).toMatchObject({ version: '12.0', edition: 'Express', licensable: false });
  });

  it('drops what only a name of the image gave from the digest', () => {
    const nim: ProductFinding = { ...ace('1.3.3', [{ kind: 'imageRef', rule: 'nvidia-nim/nim-image-ref', value: 'nvcr.io/nim/meta/llama:1.3.3' }]), id: 'nvidia-nim' };
    const both = { ...ace('11', [file, { kind: 'imageRef' as const, rule: 'r', value: 'cp.icr.io/cp/appc/ace-server-prod:11.0.0.13' }]) };
    expect(contentFindings([nim, both]).map((f) => [f.id, f.evidence.map((e) => e.kind)])).toEqual([['ibm-app-connect-enterprise', ['file']]]);
  });

  it('tags names and annotations as metadata, labels of an exec scan as the image config', () => {
    const tagged = tagEvidence([ace('11', [file, label, { kind: 'imageRef', rule: 'r', value: 'x' }, { kind: 'annotation', rule: 'a', path: 'productName' }])], 'exec');
    expect(tagged[0].evidence.map((e) => e.method)).toEqual(['exec', 'image', 'metadata', 'metadata']);
  });
});
