/**
 * Regenerates the reduced generated.proto copies beside this file from Kubernetes' sources:
 *
 *   node --import tsx test/cluster/proto/extract.ts --api DIR --apimachinery DIR --apiextensions DIR [--ref v0.35.7]
 *
 * DIRs are git repositories (clones or bare mirrors) of k8s.io/api, k8s.io/apimachinery and
 * k8s.io/apiextensions-apiserver; files are read at --ref with `git show`. Keeps the messages
 * reachable from PROTOBUF_KINDS, drops doc comments, and notes each field's Go JSON tag (and
 * "pointer" for pointer fields) from types.go, which protobuf.ts needs to write JSON as Go does.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs';
import { PACKAGES, PROTOBUF_KINDS } from '../protobuf.js';

interface Source {
  repo: 'api' | 'apimachinery' | 'apiextensions';
  proto: string;
  types: string[];
}

/** Import path (as the .proto files write it) → where it and its Go types live upstream. */
const SOURCES: Record<string, Source> = {
  'k8s.io/api/core/v1/generated.proto': { repo: 'api', proto: 'core/v1/generated.proto', types: ['core/v1/types.go'] },
  'k8s.io/api/apps/v1/generated.proto': { repo: 'api', proto: 'apps/v1/generated.proto', types: ['apps/v1/types.go'] },
  'k8s.io/api/batch/v1/generated.proto': { repo: 'api', proto: 'batch/v1/generated.proto', types: ['batch/v1/types.go'] },
  'k8s.io/api/authorization/v1/generated.proto': { repo: 'api', proto: 'authorization/v1/generated.proto', types: ['authorization/v1/types.go'] },
  'k8s.io/api/rbac/v1/generated.proto': { repo: 'api', proto: 'rbac/v1/generated.proto', types: ['rbac/v1/types.go'] },
  'k8s.io/api/authentication/v1/generated.proto': { repo: 'api', proto: 'authentication/v1/generated.proto', types: ['authentication/v1/types.go'] },
  'k8s.io/api/admissionregistration/v1/generated.proto': { repo: 'api', proto: 'admissionregistration/v1/generated.proto', types: ['admissionregistration/v1/types.go'] },
  'k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/generated.proto': {
    repo: 'apiextensions', proto: 'pkg/apis/apiextensions/v1/generated.proto', types: ['pkg/apis/apiextensions/v1/types.go', 'pkg/apis/apiextensions/v1/types_jsonschema.go'],
  },
  'k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto': { repo: 'apimachinery', proto: 'pkg/apis/meta/v1/generated.proto', types: ['pkg/apis/meta/v1/types.go'] },
  'k8s.io/apimachinery/pkg/api/resource/generated.proto': { repo: 'apimachinery', proto: 'pkg/api/resource/generated.proto', types: [] },
  'k8s.io/apimachinery/pkg/runtime/generated.proto': { repo: 'apimachinery', proto: 'pkg/runtime/generated.proto', types: ['pkg/runtime/types.go'] },
  'k8s.io/apimachinery/pkg/runtime/schema/generated.proto': { repo: 'apimachinery', proto: 'pkg/runtime/schema/generated.proto', types: [] },
  'k8s.io/apimachinery/pkg/util/intstr/generated.proto': { repo: 'apimachinery', proto: 'pkg/util/intstr/generated.proto', types: ['pkg/util/intstr/intstr.go'] },
};

/** Messages without Go tags: protobuf.ts converts them by hand (their JSON form is not their protobuf structure) or reads the Unknown envelope itself. */
const UNTAGGED = new Set(['Time', 'MicroTime', 'Quantity', 'IntOrString', 'FieldsV1', 'JSON', 'JSONSchemaPropsOrArray', 'JSONSchemaPropsOrBool', 'JSONSchemaPropsOrStringArray', 'TypeMeta', 'Unknown', 'ExtraValue']);

interface GoField {
  json: string;
  pointer: boolean;
}

/** Go struct fields by protobuf field number, from `json:"…" protobuf:"…,N,…"` tags. */
function goFields(src: string): Map<string, Map<number, GoField>> {
  const out = new Map<string, Map<number, GoField>>();
  for (const m of src.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm)) {
    const fields = new Map<number, GoField>();
    for (const line of m[2].split('\n')) {
      const f = /^\t([^`/]+?)\s*`([^`]*)`/.exec(line);
      const json = f && /json:"([^"]*)"/.exec(f[2])?.[1];
      const num = f && /protobuf:"[^,"]*,(\d+),/.exec(f[2])?.[1];
      if (!f || json == null || num == null) continue;
      const words = f[1].trim().split(/\s+/);
      fields.set(Number(num), { json, pointer: words[words.length - 1].startsWith('*') });
    }
    out.set(m[1], fields);
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({ options: { api: { type: 'string' }, apimachinery: { type: 'string' }, apiextensions: { type: 'string' }, ref: { type: 'string', default: 'v0.35.7' } } });
  const repos = { api: values.api, apimachinery: values.apimachinery, apiextensions: values.apiextensions };
  if (!repos.api || !repos.apimachinery || !repos.apiextensions) {
    throw new Error('usage: extract.ts --api DIR --apimachinery DIR --apiextensions DIR [--ref TAG] (git repositories of k8s.io/api, apimachinery, apiextensions-apiserver)');
  }
  const show = (s: Source, path: string) => execFileSync('git', ['-C', repos[s.repo]!, 'show', `${values.ref}:${path}`], { encoding: 'utf8', maxBuffer: 64 << 20 });

  const texts = new Map<string, string>();
  const root = new protobuf.Root();
  for (const [imp, s] of Object.entries(SOURCES)) {
    texts.set(imp, show(s, s.proto));
    protobuf.parse(texts.get(imp)!, root, { keepCase: true });
  }
  root.resolveAll();
  const pkgOf = (imp: string) => /^package ([\w.]+);/m.exec(texts.get(imp)!)![1];
  const fileOf = (t: protobuf.ReflectionObject) => [...texts.keys()].find((imp) => t.parent?.fullName === `.${pkgOf(imp)}`)!;

  const needed = new Set<protobuf.Type>();
  const visit = (t: protobuf.Type) => {
    if (needed.has(t)) return;
    needed.add(t);
    for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) visit(f.resolvedType);
  };
  visit(root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'));
  for (const [apiVersion, kinds] of Object.entries(PROTOBUF_KINDS)) for (const k of kinds) visit(root.lookupType(`${PACKAGES[apiVersion]}.${k}`));

  const here = dirname(fileURLToPath(import.meta.url));
  for (const [imp, s] of Object.entries(SOURCES)) {
    const text = texts.get(imp)!;
    const types = [...needed].filter((t) => fileOf(t) === imp).sort((a, b) => text.indexOf(`\nmessage ${a.name} {`) - text.indexOf(`\nmessage ${b.name} {`));
    if (types.length === 0) continue;
    const go = new Map<string, Map<number, GoField>>();
    for (const p of s.types) for (const [k, v] of goFields(show(s, p))) go.set(k, v);
    const deps = new Set<string>();
    const body: string[] = [];
    for (const t of types) {
      body.push(`message ${t.name} {`);
      for (const f of t.fieldsArray) {
        if (f.resolvedType && fileOf(f.resolvedType) !== imp) deps.add(fileOf(f.resolvedType));
        const decl = f instanceof protobuf.MapField ? `map<${f.keyType}, ${f.type}> ${f.name} = ${f.id};` : `${f.repeated ? 'repeated' : 'optional'} ${f.type} ${f.name} = ${f.id};`;
        const g = go.get(t.name)?.get(f.id);
        if (!g && !UNTAGGED.has(t.name)) throw new Error(`no Go JSON tag for ${t.fullName}.${f.name} in ${s.types.join(', ')}`);
        body.push(`  ${decl}${g ? ` // json:"${g.json}"${g.pointer ? ' pointer' : ''}` : ''}`);
      }
      body.push('}', '');
    }
    const licence = text.slice(0, text.indexOf('*/') + 2);
    const out = [
      licence, '',
      `// Reduced copy of ${imp}`,
      `// (Kubernetes v1.${values.ref!.split('.')[1]}, module tag ${values.ref}): only the messages the test server decodes, without doc`,
      '// comments. Each field notes the JSON tag of its Go field (and "pointer" for a pointer field), which',
      '// decide how test/cluster/protobuf.ts writes the decoded object as JSON.', '',
      'syntax = "proto2";', '', `package ${pkgOf(imp)};`, '',
      ...[...deps].sort().map((d) => `import "${d}";`), ...(deps.size ? [''] : []),
      ...body,
    ];
    const dest = join(here, imp);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out.join('\n'));
    process.stderr.write(`${imp}: ${types.length} messages\n`);
  }
}

main();
