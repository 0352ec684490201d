import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, readGraph, specifiers, type Order, type SourceGraph } from './support/import-graph.js';

// The dependency order of src/README.md, top first: a folder may import only folders after it.
// Folders named here that do not exist yet are fine (other work adds them).
export const ORDER: Order = [
  ['cli', 'server'],
  ['scan'],
  ['ibm-license-service', 'beacon'],
  ['store'],
  ['fixtures'],
  ['report'],
  ['licensing'],
  ['inventory'],
  ['exec'],
  ['sources'],
  ['image'],
  ['signatures'],
  ['packages'],
  ['cluster'],
  ['model', 'util', 'errors.ts', 'log.ts', 'shipped-data.ts'],
];

/**
 * Product files no other product file imports, started by something else: the CLI, the build
 * step that writes the signature bundle (scripts/build.mjs), and the dashboard page the browser
 * runs (bundled by scripts/build.mjs into dist/ui/).
 */
const ENTRY_POINTS = ['cli/main.ts', 'signatures/bundle-write.ts', 'server/ui/main.tsx'];

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src');

function nonProductFiles(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string, all: boolean): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, all);
      else if (/\.(ts|mts|mjs|js)$/.test(e.name) && (all || e.name.endsWith('.test.ts'))) out.push({ path: p, text: readFileSync(p, 'utf8') });
    }
  };
  walk(src, false);
  walk(path.join(root, 'test'), true);
  walk(path.join(root, 'bench'), true);
  walk(path.join(root, 'tracker'), true);
  walk(path.join(root, 'signatures'), true);
  return out;
}

describe('architecture', () => {
  it('src/README.md writes down the same order as this test', () => {
    const readme = readFileSync(path.join(src, 'README.md'), 'utf8');
    const line = readme.split('\n').find((l) => l.includes('→'));
    expect(line, 'src/README.md has the order on one line with →').toBeDefined();
    const written = line!.trim().replace(/`/g, '').split('→').map((r) => r.split(',').map((u) => u.trim()).filter(Boolean));
    expect(written).toEqual(ORDER.map((r) => r.filter((u) => !u.endsWith('.ts'))));
  });

  it('every product file under src/ follows the dependency order, with no circle and nothing imported only by tests', () => {
    const graph = readGraph(src, nonProductFiles());
    expect(graph.product.size).toBeGreaterThan(50);
    expect(check(graph, ORDER, ENTRY_POINTS).map((v) => v.message)).toEqual([]);
  });

  it('reads every kind of import', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "const e = await import('./e.js');",
      "let f: import('./f.js').F;",
      "import './g.js';",
    ].join('\n');
    expect(specifiers(text)).toEqual(['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
  });

  // The checker itself: a graph that is fine, then the same graph with one bad edge of each kind.
  const good = (): SourceGraph => ({
    product: new Map([
      ['cli/main.ts', new Set(['scan/image.ts'])],
      ['scan/image.ts', new Set(['image/read.ts', 'model/entry.ts'])],
      ['image/read.ts', new Set(['image/tar.ts', 'model/entry.ts'])],
      ['image/tar.ts', new Set<string>()],
      ['model/entry.ts', new Set<string>()],
    ]),
    importedByTests: new Set(['image/tar.ts']),
  });
  const order: Order = [['cli'], ['scan'], ['image'], ['model']];

  it('passes a graph that follows the order', () => {
    expect(check(good(), order, ['cli/main.ts'])).toEqual([]);
  });

  it('fails an arrow against the order', () => {
    const g = good();
    g.product.get('model/entry.ts')!.add('image/tar.ts');
    const v = check(g, order, ['cli/main.ts']);
    expect(v.map((x) => x.kind)).toContain('against-order');
    expect(v.map((x) => x.message).join('\n')).toContain('model/entry.ts imports image/tar.ts');
  });

  it('fails a circle between files, even inside one folder', () => {
    const g = good();
    g.product.get('image/tar.ts')!.add('image/read.ts');
    expect(check(g, order, ['cli/main.ts']).map((x) => x.message)).toEqual(['import circle between files: image/read.ts ↔ image/tar.ts']);
  });

  it('fails a circle between sibling folders of one rank', () => {
    const g = good();
    g.product.set('util/a.ts', new Set(['model/entry.ts']));
    g.product.get('model/entry.ts')!.add('util/b.ts');
    g.product.set('util/b.ts', new Set());
    g.product.get('image/tar.ts')!.add('util/a.ts');
    const v = check(g, [['cli'], ['scan'], ['image'], ['model', 'util']], ['cli/main.ts']);
    expect(v.map((x) => x.message)).toEqual(['import circle between folders: model ↔ util']);
  });

  it('fails a product file that only tests import, and one nothing imports', () => {
    const g = good();
    g.product.set('image/fixture-only.ts', new Set());
    g.importedByTests.add('image/fixture-only.ts');
    g.product.set('image/dead.ts', new Set());
    expect(check(g, order, ['cli/main.ts']).map((x) => x.kind)).toEqual(['only-tests', 'unused']);
  });

  it('fails a folder that is not in the order', () => {
    const g = good();
    g.product.set('misc/x.ts', new Set());
    g.product.get('cli/main.ts')!.add('misc/x.ts');
    expect(check(g, order, ['cli/main.ts']).map((x) => x.kind)).toEqual(['unknown-unit']);
  });
});
