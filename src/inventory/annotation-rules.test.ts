import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel, type ClusterModel } from '../cluster/model.js';
import { rawNode, rawPod } from '../../test/support/cluster-objects.js';
import type { ProductFinding } from '../model/finding.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import type { SignatureSet } from '../signatures/types.js';
import { buildInventory } from './inventory.js';
import { combinedMatcher, patternMetadataMatcher, type MetadataMatcher } from './metadata.js';

/** True when a regex source matches only the whole string: ^...$ with no top-level alternation. */
function anchored(source: string): boolean {
  if (!source.startsWith('^') || !source.endsWith('$') || source.endsWith('\\$')) return false;
  let depth = 0;
  let inClass = false;
  for (let i = 1; i < source.length - 1; i++) {
    const ch = source[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) return false;
  }
  return true;
}

let set: SignatureSet;
let matcher: MetadataMatcher;
beforeAll(async () => {
  set = await loadSignatureSet();
  matcher = combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher);
});

describe('annotation and label rules', () => {
  it('match whole values only (an unanchored regex invents products from look-alike names)', () => {
    const loose: string[] = [];
    for (const sig of set.signatures) {
      for (const rule of [...sig.evidence, ...sig.exclude]) {
        if ((rule.kind === 'label' || rule.kind === 'annotation') && rule.value && !anchored(rule.value.source)) loose.push(`${sig.id}/${rule.id}: ${rule.value.source}`);
      }
    }
    expect(loose).toEqual([]);
  });

  it('the anchoring check itself tells anchored from loose patterns', () => {
    expect(anchored('^IBM MQ(?: (?<edition>Advanced))?$')).toBe(true);
    expect(anchored('WebSphere Application Server')).toBe(false);
    expect(anchored('^IBM Db2(?: Standard Edition)?')).toBe(false);
    expect(anchored('^a$|^b$')).toBe(false);
    expect(anchored('^[|]$')).toBe(true);
  });
});

describe('WebSphere annotations', () => {
  // The annotations as the WAS documentation (tcld_ins_license_service) and the WebSphere Liberty
  // operator (utils/utils.go CustomizeLicenseAnnotations) set them.
  const nd = { productName: 'IBM WebSphere Application Server Network Deployment', productID: 'c6a988d93b0f4d1388200d40ddc84e5b', productMetric: 'PROCESSOR_VALUE_UNIT', productChargedContainers: 'All' };
  const model = (): ClusterModel =>
    buildClusterModel(
      [rawNode({ name: 'w-1', cpu: '8' })],
      [
        rawPod({ namespace: 'was', name: 'was-0', node: 'w-1', annotations: nd, containers: [{ name: 'was', image: 'registry.example.com/was/nd-app:9.0.5.20', limits: { cpu: '1500m' } }] }),
        rawPod({
          namespace: 'was',
          name: 'liberty-0',
          node: 'w-1',
          annotations: { ...nd, productChargedContainers: 'app', libertyOperator: 'WebSphere Liberty' },
          containers: [{ name: 'app', image: 'registry.example.com/apps/orders:2.1', limits: { cpu: '1' } }],
        }),
        rawPod({
          namespace: 'was',
          name: 'core-0',
          node: 'w-1',
          annotations: { productName: 'IBM WebSphere Application Server Liberty Core', productID: '87f3487c22f34742a799164f3f3ffa78', productMetric: 'PROCESSOR_VALUE_UNIT', productChargedContainers: 'app', libertyOperator: 'WebSphere Liberty' },
          containers: [{ name: 'app', image: 'registry.example.com/apps/catalog:1.0', limits: { cpu: '1' } }],
        }),
      ],
      'snapshot',
    );
  const products = async (pod: string): Promise<ProductFinding[]> => {
    const inv = await buildInventory(model(), { matchMetadata: matcher }, { metadataOnly: true });
    return inv.containers.find((c) => c.pod.name === pod)!.products.filter((p) => p.id.startsWith('ibm-websphere'));
  };

  it('a traditional WAS ND pod is WebSphere traditional ND, not also Liberty', async () => {
    const was = await products('was-0');
    expect(was.map((p) => [p.id, p.edition])).toEqual([['ibm-websphere-traditional', 'Network Deployment']]);
  });

  it('a pod of the WebSphere Liberty operator is Liberty, whatever WAS edition it is entitled under', async () => {
    expect((await products('liberty-0')).map((p) => p.id)).toEqual(['ibm-websphere-liberty']);
    expect((await products('core-0')).map((p) => [p.id, p.edition])).toEqual([['ibm-websphere-liberty', 'Liberty Core']]);
  });
});
