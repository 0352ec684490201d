import type { ErrorObject } from 'ajv';
import schema from './report.schema.json' with { type: 'json' };
import type { Report } from './report.js';

/** The JSON Schema of the report, shipped in the repository (src/model/report.schema.json). */
export const reportSchema: object = schema;

let validator: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

/** Validates a report against the schema; returns human-readable problems (empty when valid). */
export async function validateReport(report: unknown): Promise<string[]> {
  if (!validator) {
    const { default: Ajv } = await import('ajv');
    const { default: addFormats } = await import('ajv-formats');
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    validator = ajv.compile(reportSchema);
  }
  if (validator(report)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

export type { Report };
