import type { ClusterPod } from '../cluster/model.js';
import type { Inventory } from '../inventory/inventory.js';
import { parseIbmAnnotations, type IbmAnnotations } from '../cluster/ibm-annotations.js';
import { isCoreMetric } from './ibm.js';

/**
 * The IBM programs of each pod: its License Service annotations when it has them; otherwise the
 * VPC/PVU products the scan found in its containers (each charged for the containers it was
 * found in), so an IBM image deployed without annotations still gets container-licensing
 * figures rather than none.
 */
/** Programs made from findings (pods without License Service annotations), for `withoutAnnotations`. */
const fromFindings = new WeakSet<IbmAnnotations>();

export function foundWithoutAnnotations(program: IbmAnnotations): boolean {
  return fromFindings.has(program);
}

export function ibmProgramsOf(inv: Inventory): (pod: ClusterPod) => IbmAnnotations[] {
  const byPod = new Map<ClusterPod, Map<string, IbmAnnotations>>();
  for (const c of inv.containers) {
    if (parseIbmAnnotations(c.pod.annotations)) continue;
    for (const p of c.products) {
      if (!isCoreMetric(p.licenseMetric) || p.licensable === false) continue;
      const programs = byPod.get(c.pod) ?? new Map<string, IbmAnnotations>();
      const prog = programs.get(p.id) ?? {
        productId: p.id,
        productName: p.edition ? `${p.product} ${p.edition}` : p.product,
        productMetric: p.licenseMetric,
        chargedContainers: [] as string[],
        cloudpakRatio: null,
        cloudpakId: null,
        cloudpakName: null,
        cloudpakMetric: null,
        cloudpakVersion: null,
      };
      (prog.chargedContainers as string[]).push(c.container.name);
      fromFindings.add(prog);
      programs.set(p.id, prog);
      byPod.set(c.pod, programs);
    }
  }
  return (pod) => {
    const ann = parseIbmAnnotations(pod.annotations);
    if (ann) return [ann];
    return [...(byPod.get(pod)?.values() ?? [])];
  };
}
