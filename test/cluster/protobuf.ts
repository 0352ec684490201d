import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { badRequest, statusError } from './apierrors.js';
import type { KObject } from './store.js';

/**
 * Decodes request bodies in `application/vnd.kubernetes.protobuf` (what kubectl's typed generators
 * send: `kubectl create secret|deployment|…`, `kubectl auth can-i`) into the object a JSON request
 * would carry, so storage, admission and pods see no difference.
 *
 * Wire format: "k8s\0", then runtime.Unknown {typeMeta, raw}; raw is the object in the
 * generated.proto message of its group/version. The messages live in proto/ (reduced copies of
 * Kubernetes' generated.proto); each field carries its Go JSON tag as a comment, because Go's
 * protobuf encoding writes every non-pointer field, zero or not, while JSON omits `omitempty` zeros.
 */

const PROTO_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'proto');
const MAGIC = Buffer.from('k8s\0', 'latin1');

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const APIEXT = 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1';

/** apiVersion → proto package of its generated.proto. */
export const PACKAGES: Record<string, string> = {
  v1: 'k8s.io.api.core.v1',
  'apps/v1': 'k8s.io.api.apps.v1',
  'batch/v1': 'k8s.io.api.batch.v1',
  'authorization.k8s.io/v1': 'k8s.io.api.authorization.v1',
  'rbac.authorization.k8s.io/v1': 'k8s.io.api.rbac.v1',
  'authentication.k8s.io/v1': 'k8s.io.api.authentication.v1',
  'admissionregistration.k8s.io/v1': 'k8s.io.api.admissionregistration.v1',
  'apiextensions.k8s.io/v1': APIEXT,
};

/** The top-level kinds whose messages proto/ holds (the built-in kinds of resources.ts). */
export const PROTOBUF_KINDS: Record<string, string[]> = {
  v1: ['Namespace', 'Node', 'Pod', 'Service', 'Secret', 'ServiceAccount', 'ConfigMap', 'PersistentVolumeClaim', 'Event'],
  'apps/v1': ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'],
  'batch/v1': ['Job', 'CronJob'],
  'authorization.k8s.io/v1': ['SelfSubjectAccessReview', 'SubjectAccessReview'],
  'authentication.k8s.io/v1': ['TokenReview'],
  'rbac.authorization.k8s.io/v1': ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'],
  'admissionregistration.k8s.io/v1': ['ValidatingWebhookConfiguration'],
  'apiextensions.k8s.io/v1': ['CustomResourceDefinition'],
};

const PROTO_FILES = [
  'k8s.io/apimachinery/pkg/runtime/generated.proto',
  'k8s.io/api/core/v1/generated.proto',
  'k8s.io/api/apps/v1/generated.proto',
  'k8s.io/api/batch/v1/generated.proto',
  'k8s.io/api/authorization/v1/generated.proto',
  'k8s.io/api/rbac/v1/generated.proto',
  'k8s.io/api/authentication/v1/generated.proto',
  'k8s.io/api/admissionregistration/v1/generated.proto',
  'k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/generated.proto',
];

let root: protobuf.Root | undefined;

/** Parsed lazily: most test clusters never see a protobuf body. */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  r.loadSync(PROTO_FILES, { keepCase: true, alternateCommentMode: true });
  r.resolveAll();
  root = r;
  return r;
}

interface FieldPlan {
  field: protobuf.Field;
  json: string;
  omitempty: boolean;
  inline: boolean;
  pointer: boolean;
}

const plans = new WeakMap<protobuf.Type, FieldPlan[]>();

function planOf(type: protobuf.Type): FieldPlan[] {
  let plan = plans.get(type);
  if (plan) return plan;
  plan = type.fieldsArray.map((field) => {
    const m = /json:"([^"]*)"( pointer)?/.exec(field.comment ?? '');
    const [name, ...opts] = (m ? m[1] : `${field.name},omitempty`).split(',');
    return { field, json: name, omitempty: opts.includes('omitempty'), inline: name === '' || opts.includes('inline'), pointer: !!m?.[2] };
  });
  plans.set(type, plan);
  return plan;
}

function int64(v: number | protobuf.Long): number {
  return typeof v === 'number' ? v : protobuf.util.LongBits.from(v).toNumber(v.unsigned);
}

function scalar(type: string, v: unknown): unknown {
  if (type === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
  if (/^(u|s)?int64$|^s?fixed64$/.test(type)) return int64(v as number | protobuf.Long);
  return v;
}

function zeroOf(type: string): unknown {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (type === 'bytes') return undefined;
  return 0;
}

const isZero = (v: unknown) => v === '' || v === 0 || v === false;

/** RFC 3339 in UTC, as metav1.Time (seconds) and metav1.MicroTime (microseconds) marshal to JSON. */
function rfc3339(msg: KObject, fractionDigits: 0 | 6): string | undefined {
  const seconds = msg.seconds === undefined ? 0 : int64(msg.seconds);
  const nanos = msg.nanos ?? 0;
  if (seconds === 0 && nanos === 0) return undefined; // the zero time: JSON null
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return fractionDigits ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

function embeddedJson(raw: Uint8Array | undefined): unknown {
  if (!raw || raw.length === 0) return undefined;
  return JSON.parse(Buffer.from(raw).toString('utf8'));
}

/** Types whose Go JSON form is not their protobuf structure; undefined means JSON null (omitted). */
const SPECIAL: Record<string, (msg: KObject) => unknown> = {
  [`${META}.Time`]: (m) => rfc3339(m, 0),
  [`${META}.MicroTime`]: (m) => rfc3339(m, 6),
  [`${META}.FieldsV1`]: (m) => embeddedJson(m.Raw),
  'k8s.io.apimachinery.pkg.api.resource.Quantity': (m) => m.string ?? '0',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': (m) => (m.type !== undefined && int64(m.type) === 1 ? (m.strVal ?? '') : (m.intVal ?? 0)),
  [`${APIEXT}.JSON`]: (m) => embeddedJson(m.raw),
  // `type ExtraValue []string`: a list in JSON, a message with one repeated field on the wire.
  'k8s.io.api.authorization.v1.ExtraValue': (m) => [...(m.items ?? [])],
  'k8s.io.api.authentication.v1.ExtraValue': (m) => [...(m.items ?? [])],
  [`${APIEXT}.JSONSchemaPropsOrArray`]: (m) =>
    m.jSONSchemas?.length ? m.jSONSchemas.map((s: KObject) => message(schemaType(), s)) : m.schema ? message(schemaType(), m.schema) : undefined,
  [`${APIEXT}.JSONSchemaPropsOrBool`]: (m) => (m.schema ? message(schemaType(), m.schema) : !!m.allows),
  [`${APIEXT}.JSONSchemaPropsOrStringArray`]: (m) => (m.property?.length ? [...m.property] : m.schema ? message(schemaType(), m.schema) : undefined),
};

const schemaType = () => protoRoot().lookupType(`${APIEXT}.JSONSchemaProps`);

function value(field: protobuf.Field, v: unknown): unknown {
  return field.resolvedType instanceof protobuf.Type ? message(field.resolvedType, v as KObject) : scalar(field.type, v);
}

/** One decoded message as Go's encoding/json would write the Go struct behind it. */
function message(type: protobuf.Type, msg: KObject): unknown {
  const special = SPECIAL[type.fullName.slice(1)];
  if (special) return special(msg);
  const out: KObject = {};
  for (const p of planOf(type)) {
    const { field } = p;
    const name = field.name;
    if (field.map) {
      const entries = Object.entries((msg[name] ?? {}) as KObject);
      if (entries.length) out[p.json] = Object.fromEntries(entries.map(([k, v]) => [k, value(field, v)]));
    } else if (field.repeated) {
      const items = (msg[name] ?? []) as unknown[];
      if (items.length) out[p.json] = items.map((v) => value(field, v));
    } else if (field.resolvedType instanceof protobuf.Type) {
      if (!Object.hasOwn(msg, name) || msg[name] == null) continue;
      const v = message(field.resolvedType, msg[name]);
      if (v === undefined) continue;
      if (p.inline && v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, v);
      else out[p.json] = v;
    } else {
      // Go writes non-pointer scalars even when zero; JSON drops those zeros under omitempty and
      // keeps them otherwise. A pointer field is on the wire exactly when it is set.
      const present = Object.hasOwn(msg, name) && msg[name] != null;
      const v = present ? scalar(field.type, msg[name]) : p.pointer || p.omitempty ? undefined : zeroOf(field.type);
      if (v === undefined) continue;
      if (!p.pointer && p.omitempty && isZero(v)) continue;
      out[p.json] = v;
    }
  }
  return out;
}

const invalidBody = (why: string) =>
  badRequest(`the body of the request was not valid application/vnd.kubernetes.protobuf: ${why}; send the object as application/json or application/yaml instead`);

/** Decodes one protobuf request body (magic + runtime.Unknown) into the equivalent JSON object. */
export function decodeProtobufObject(body: Uint8Array): KObject {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw invalidBody('it does not start with the Kubernetes protobuf prefix "k8s\\0"');
  }
  const r = protoRoot();
  let unknown: KObject;
  try {
    unknown = r.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown').decode(buf.subarray(MAGIC.length)) as unknown as KObject;
  } catch (e) {
    throw invalidBody(`cannot decode the runtime.Unknown envelope (${(e as Error).message})`);
  }
  const apiVersion: string = unknown.typeMeta?.apiVersion ?? '';
  const kind: string = unknown.typeMeta?.kind ?? '';
  if (!apiVersion || !kind) throw invalidBody('the envelope names no apiVersion and kind');
  if (unknown.contentEncoding) throw invalidBody(`contentEncoding ${JSON.stringify(unknown.contentEncoding)} is not supported`);
  if (!PROTOBUF_KINDS[apiVersion]?.includes(kind)) {
    throw statusError(415, 'UnsupportedMediaType', `the test server cannot decode ${kind} (${apiVersion}) from protobuf - accepted media types include: application/json, application/yaml`);
  }
  const type = r.lookupType(`${PACKAGES[apiVersion]}.${kind}`);
  let decoded: KObject;
  try {
    decoded = type.decode(unknown.raw ?? new Uint8Array()) as unknown as KObject;
  } catch (e) {
    throw invalidBody(`cannot decode ${kind} ${apiVersion} (${(e as Error).message})`);
  }
  let obj: unknown;
  try {
    obj = message(type, decoded);
  } catch (e) {
    throw invalidBody(`cannot convert ${kind} ${apiVersion} to JSON (${(e as Error).message})`);
  }
  return { apiVersion, kind, ...(obj as KObject) };
}
