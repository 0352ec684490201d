/**
 * The import graph of the product code under src/ and the checks of the dependency order that
 * src/README.md writes down (test/architecture.test.ts). Every kind of import counts: static,
 * `import type`, `export … from`, dynamic `import()` and `import('…').T` type references, because a
 * type-only circle is still a circle a reader has to untangle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** A product file's path relative to src/, e.g. `image/tar.ts`. */
export type FileId = string;
export type Graph = Map<FileId, Set<FileId>>;

export function productFiles(srcDir: string): FileId[] {
  const out: FileId[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(srcDir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      // .tsx: the dashboard page (src/server/ui/), JSX bundled by scripts/build.mjs.
      else if ((e.name.endsWith('.ts') || e.name.endsWith('.tsx')) && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** Every module specifier a file names, whatever the kind of import. */
export function specifiers(text: string, fileName = 'x.ts', computed: 'fail' | 'ignore' = 'fail'): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) out.push(arg.text);
      else if (arg && computed === 'fail') throw new Error(`${fileName}: import() of a computed specifier cannot be checked; name the module`);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** A relative specifier of `from` as a file id (`../image/tar.js` → `image/tar.ts`); null for packages and non-TS files. */
export function resolve(from: FileId, spec: string, exists: (id: FileId) => boolean): FileId | null {
  if (!spec.startsWith('.')) return null;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  if (joined.startsWith('..')) return null;
  for (const id of [joined.replace(/\.js$/, '.ts'), joined.replace(/\.js$/, '.tsx'), `${joined}.ts`, `${joined}/index.ts`]) if (exists(id)) return id;
  return null;
}

export interface SourceGraph {
  /** product file → product files it imports */
  product: Graph;
  /** product files imported by at least one test file (src/ **\/*.test.ts, test/, bench/ excluded) */
  importedByTests: Set<FileId>;
}

export function readGraph(srcDir: string, testFiles: { path: string; text: string }[]): SourceGraph {
  const files = productFiles(srcDir);
  const known = new Set(files);
  const product: Graph = new Map();
  for (const f of files) {
    const deps = new Set<FileId>();
    for (const spec of specifiers(readFileSync(path.join(srcDir, f), 'utf8'), f)) {
      const id = resolve(f, spec, (x) => known.has(x));
      if (id && id !== f) deps.add(id);
    }
    product.set(f, deps);
  }
  const importedByTests = new Set<FileId>();
  for (const t of testFiles) {
    const rel = path.relative(srcDir, t.path).split(path.sep).join('/');
    for (const spec of specifiers(t.text, t.path, 'ignore')) {
      const id = resolve(rel, spec, (x) => known.has(x));
      if (id) importedByTests.add(id);
    }
  }
  return { product, importedByTests };
}

/** The layer a file belongs to: its folder under src/, or the file name for top-level files. */
export function unitOf(id: FileId): string {
  const i = id.indexOf('/');
  return i < 0 ? id : id.slice(0, i);
}

/**
 * The dependency order, top first: a unit may import units of later ranks only. Units of one rank
 * are siblings: they may import each other as long as that makes no circle.
 */
export type Order = string[][];

export interface Violation {
  kind: 'circle' | 'against-order' | 'unknown-unit' | 'only-tests' | 'unused';
  message: string;
}

function rankOf(order: Order): Map<string, number> {
  const m = new Map<string, number>();
  order.forEach((units, i) => units.forEach((u) => m.set(u, i)));
  return m;
}

/** Circles of a directed graph (one per strongly connected component of more than one node). */
export function circles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

export function check(g: SourceGraph, order: Order, entryPoints: FileId[]): Violation[] {
  const rank = rankOf(order);
  const out: Violation[] = [];
  for (const c of circles(g.product)) out.push({ kind: 'circle', message: `import circle between files: ${c.join(' ↔ ')}` });
  const units = new Map<string, Set<string>>();
  for (const [from, deps] of g.product) {
    const fu = unitOf(from);
    if (!rank.has(fu)) {
      out.push({ kind: 'unknown-unit', message: `${from}: src/${fu} is not in the dependency order of src/README.md` });
      continue;
    }
    for (const to of deps) {
      const tu = unitOf(to);
      if (fu === tu) continue;
      if (!units.has(fu)) units.set(fu, new Set());
      units.get(fu)!.add(tu);
      const tr = rank.get(tu);
      if (tr === undefined) continue;
      if (tr < rank.get(fu)!) out.push({ kind: 'against-order', message: `${from} imports ${to}: ${fu} may not import ${tu}, which comes before it in the order` });
    }
  }
  for (const c of circles(units)) out.push({ kind: 'circle', message: `import circle between folders: ${c.join(' ↔ ')}` });
  const imported = new Set<FileId>();
  for (const deps of g.product.values()) for (const d of deps) imported.add(d);
  for (const f of g.product.keys()) {
    if (imported.has(f) || entryPoints.includes(f)) continue;
    if (g.importedByTests.has(f)) out.push({ kind: 'only-tests', message: `src/${f} is imported only by tests: test code belongs under test/, or the product should use it` });
    else out.push({ kind: 'unused', message: `src/${f} is imported by nothing and is no entry point` });
  }
  return out;
}
