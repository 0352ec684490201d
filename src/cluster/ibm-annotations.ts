/**
 * The IBM License Service annotations of a pod (productID, productMetric, productChargedContainers,
 * productCloudpakRatio, cloudpak*): cluster metadata that inventory reads to find IBM programs and
 * licence math uses to count them (/work/shared/reference/ibm-container-licensing.txt).
 */
export interface IbmAnnotations {
  productId: string;
  productName: string;
  productMetric: string;
  /** 'All' or the names of the charged containers. */
  chargedContainers: 'All' | string[];
  /** [program cores, Cloud Pak cores], e.g. "3:1" → [3, 1]. */
  cloudpakRatio: [number, number] | null;
  cloudpakId: string | null;
  cloudpakName: string | null;
  cloudpakMetric: string | null;
  cloudpakVersion: string | null;
}

/** "3:1" → [3, 1]; anything else → null. */
export function parseRatio(value: string | undefined): [number, number] | null {
  if (!value) return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > 0 && b > 0 ? [a, b] : null;
}

/** The IBM licensing annotations of a pod; null when the pod has no productID. */
export function parseIbmAnnotations(a: Record<string, string>): IbmAnnotations | null {
  const productId = a.productID?.trim();
  if (!productId) return null;
  const charged = a.productChargedContainers?.trim();
  return {
    productId,
    productName: a.productName?.trim() || productId,
    productMetric: a.productMetric?.trim() || 'VIRTUAL_PROCESSOR_CORE',
    chargedContainers:
      !charged || charged.toLowerCase() === 'all'
        ? 'All'
        : charged.split(/[,;\s]+/).filter(Boolean),
    cloudpakRatio: parseRatio(a.productCloudpakRatio),
    cloudpakId: a.cloudpakId?.trim() || null,
    cloudpakName: a.cloudpakName?.trim() || null,
    cloudpakMetric: a.cloudpakMetric?.trim() || null,
    cloudpakVersion: a.cloudpakVersion?.trim() || null,
  };
}
