/**
 * ISO/IEC 19770-2 software identification (SWID) tags: the package-metadata parser beside the
 * dpkg, apk and rpm ones (the probe for tag files is SWID_PROBE in paths.ts).
 */
import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';

export interface SwidInfo {
  name?: string;
  version?: string;
  tagId?: string;
  regids: string[];
}

let xml: XMLParser | undefined;

/**
 * Loaded on the first SWID tag only: the parser costs ~30 ms of start-up, and most images hold
 * no tag. Its CommonJS build is one file, so the synchronous require stays cheap.
 */
function swidParser(): XMLParser {
  if (!xml) {
    const { XMLParser: Parser } = createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser');
    xml = new Parser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      removeNSPrefix: true,
      processEntities: false,
      ignoreDeclaration: true,
      // Versions such as "6.0" must stay strings.
      parseTagValue: false,
      parseAttributeValue: false,
    });
  }
  return xml;
}

/** ISO/IEC 19770-2 tags: the 2015 SoftwareIdentity form and the 2009 software_identification_tag form. */
export function parseSwidTag(text: string): SwidInfo | null {
  let doc: Record<string, unknown>;
  try {
    doc = swidParser().parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  const asArray = (v: unknown): Array<Record<string, unknown>> =>
    v === undefined ? [] : (Array.isArray(v) ? v : [v]).filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  const si = asArray(doc.SoftwareIdentity)[0];
  if (si) {
    return {
      name: si.name !== undefined ? String(si.name) : undefined,
      version: si.version !== undefined ? String(si.version) : undefined,
      tagId: si.tagId !== undefined ? String(si.tagId) : undefined,
      regids: asArray(si.Entity).map((e) => String(e.regid ?? '')).filter(Boolean),
    };
  }
  const old = asArray(doc.software_identification_tag)[0];
  if (old) {
    const pv = asArray(old.product_version)[0];
    const creator = asArray(old.software_creator)[0];
    return {
      name: old.product_title !== undefined ? String(old.product_title) : undefined,
      version: pv?.name !== undefined ? String(pv.name) : undefined,
      tagId: old.unique_id !== undefined ? String(old.unique_id) : undefined,
      regids: creator?.regid !== undefined ? [String(creator.regid)] : [],
    };
  }
  return null;
}
