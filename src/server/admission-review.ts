import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { AdmissionReview } from './admission.js';

/**
 * AdmissionReview bodies are checked against a JSON Schema before any of them is used: the
 * webhook is reachable by anything that can reach the service, and a body the code does not
 * expect (`null`, `initContainers: "x"`, a number for `uid`) must get a short 400, never a 500
 * with an internal message, and never an echo of what it sent. The schema says only what
 * admission reads (kubernetes/api admission/v1 AdmissionReview, core/v1 PodSpec); every other
 * field may be anything, and is never looked at.
 */

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

const container = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253 },
    image: { type: 'string', maxLength: 4096 },
    env: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, value: { type: 'string' } },
      },
    },
  },
} as const;

const podSpec = {
  type: 'object',
  properties: {
    containers: { type: 'array', maxItems: 1000, items: { $ref: '#/$defs/container' } },
    initContainers: { type: 'array', maxItems: 1000, items: { $ref: '#/$defs/container' } },
  },
} as const;

const objectMeta = {
  type: 'object',
  properties: { name: { type: 'string' }, namespace: { type: 'string' }, labels: stringMap, annotations: stringMap },
} as const;

const podTemplate = { type: 'object', properties: { metadata: objectMeta, spec: { $ref: '#/$defs/podSpec' } } } as const;

/** The pod template sits where podTemplateOf (pod-spec.ts) looks for it, by the object's kind. */
const objectWithPods = {
  type: 'object',
  properties: { kind: { type: 'string' }, metadata: objectMeta },
  allOf: [
    {
      if: { properties: { kind: { const: 'Pod' } }, required: ['kind'] },
      then: { properties: { spec: { $ref: '#/$defs/podSpec' } } },
    },
    {
      if: { properties: { kind: { const: 'CronJob' } }, required: ['kind'] },
      then: { properties: { spec: { type: 'object', properties: { jobTemplate: { type: 'object', properties: { spec: { type: 'object', properties: { template: podTemplate } } } } } } } },
    },
    {
      if: { not: { properties: { kind: { enum: ['Pod', 'CronJob'] } }, required: ['kind'] } },
      then: { properties: { spec: { type: 'object', properties: { template: podTemplate } } } },
    },
  ],
} as const;

export const admissionReviewSchema = {
  $id: 'https://kensus.dev/schemas/admission-review.json',
  type: 'object',
  required: ['request'],
  properties: {
    apiVersion: { enum: ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] },
    kind: { const: 'AdmissionReview' },
    request: {
      type: 'object',
      required: ['uid'],
      properties: {
        // a UUID from the API server; bounded and printable, since it is sent back
        uid: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' },
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        namespace: { type: 'string', maxLength: 253 },
        name: { type: 'string', maxLength: 253 },
        dryRun: { type: 'boolean' },
        kind: { type: 'object', properties: { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string' } } },
        // null for DELETE; else the object whose pods are reviewed
        object: { ...objectWithPods, type: ['object', 'null'] },
      },
    },
  },
  $defs: { container, podSpec },
} as const;

let validator: ValidateFunction | undefined;

function validate(): ValidateFunction {
  // allErrors off: the first problem is what the answer names, and checking stops there.
  validator ??= new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile(admissionReviewSchema);
  return validator;
}

export type ReviewCheck = { ok: true; review: AdmissionReview } | { ok: false; status: 400; message: string };

/** `/request/object/spec/initContainers` → `request.object.spec.initContainers`. */
function where(path: string): string {
  const dotted = path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
  return (dotted || 'the body').slice(0, 200);
}

/** A short, fixed-vocabulary reason: what was expected where, never the value that was sent. */
function reason(e: ErrorObject): string {
  const at = where(e.instancePath);
  switch (e.keyword) {
    case 'required':
      return `${at === 'the body' ? '' : `${at}.`}${String((e.params as { missingProperty: string }).missingProperty)} is missing`;
    case 'type':
      return `${at} must be ${e.instancePath === '' ? 'an AdmissionReview object' : `of type ${String((e.params as { type: string }).type)}`}`;
    case 'enum':
    case 'const':
      return `${at} must be one of ${JSON.stringify((e.params as { allowedValues?: unknown[]; allowedValue?: unknown }).allowedValues ?? [(e.params as { allowedValue: unknown }).allowedValue])}`;
    case 'maxItems':
    case 'maxLength':
    case 'minLength':
    case 'pattern':
      return `${at} ${e.message ?? 'is out of bounds'}`;
    default:
      return `${at} is not what an AdmissionReview holds there`;
  }
}

/**
 * Checks a parsed body. On failure: a 400 and one short line saying what was expected where;
 * the uid is not echoed, even when there is one (it may be what was wrong).
 */
export function checkAdmissionReview(body: unknown): ReviewCheck {
  const v = validate();
  if (v(body)) return { ok: true, review: body as AdmissionReview };
  // if/then failures come with the error that caused them first; 'if' itself says nothing
  const first = (v.errors ?? []).find((e) => e.keyword !== 'if') ?? v.errors?.[0];
  return { ok: false, status: 400, message: `not an admission.k8s.io/v1 AdmissionReview: ${first ? reason(first) : 'invalid'}` };
}

/** Parses and checks a request body (text or bytes). */
export function parseAdmissionReview(body: string | Buffer): ReviewCheck {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return { ok: false, status: 400, message: 'not an admission.k8s.io/v1 AdmissionReview: the body is not JSON' };
  }
  return checkAdmissionReview(value);
}
