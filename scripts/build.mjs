#!/usr/bin/env node
// The build (`npm run build`, also `prepare` and the test setup): compiles src/ to dist/, writes
// the validated signature bundle, bundles the CLI into dist/cli-bundle/ and the dashboard page
// (src/server/ui/, preact + uPlot) into dist/ui/ with esbuild; `kensus serve` serves dist/ui/,
// so users run no build step of their own.
//
// Why a bundle: a cold scan of a small image spent ~50 ms resolving, reading and linking some 100
// ES modules before doing any work. One file (plus split chunks for what loads lazily: live
// sources, serve, the cluster commands) removes most of that. Packages that are native, load
// WebAssembly, or only serve lazily loaded commands stay in node_modules.
//
// `--keep-going`: the test setup wants dist/ even when the code has type errors (the typecheck
// step of `npm test` reports them); the bundle is built from whatever tsc emitted.
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const keepGoing = process.argv.includes('--keep-going');

function fail(message) {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
if (tsc.status !== 0) {
  const typeErrorsOnly = /error TS/.test(tsc.stdout);
  if (!(keepGoing && typeErrorsOnly)) fail(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
}

// The page has its own tsconfig (DOM types, JSX); its type errors fail the build like the CLI's.
const uiTsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'src/server/ui/tsconfig.json'], { cwd: root, encoding: 'utf8' });
if (uiTsc.status !== 0 && !keepGoing) fail(`tsc (dashboard page) failed:\n${uiTsc.stdout}${uiTsc.stderr}`);

const signatures = spawnSync(process.execPath, ['dist/signatures/bundle-write.js'], { cwd: root, encoding: 'utf8' });
if (signatures.status !== 0) fail(`the signature bundle failed:\n${signatures.stderr}`);

// The bundle sits one folder below dist/, like dist/cli/, so every path the code finds relative
// to its own module (package.json, signatures/, tracker/, dist/signatures.bundle.json) holds.
const outdir = join(root, 'dist', 'cli-bundle');
rmSync(outdir, { recursive: true, force: true });
const { build } = await import('esbuild');

// yaml is bundled, from its ES module build (the same code as its CommonJS one; only its debug
// logging differs): report formats, shipped data and licensing import it statically, and as an
// external it cost every cold scan some 60 CommonJS files resolved and compiled one by one
// (bench/profile.md). The ES build, not the CommonJS one, because a dynamic import() of bundled
// CommonJS (signatures/load.ts) would get only `default`, not `parseDocument` and `LineCounter`.
const yamlAsEsm = {
  name: 'yaml-as-esm',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: join(dirname(require.resolve('yaml/package.json')), 'browser', 'index.js') }));
  },
};
try {
  await build({
    // The serve image-scan worker is an entry of its own: a Worker needs a file to start.
    entryPoints: [join(root, 'dist', 'cli', 'main.js'), join(root, 'dist', 'server', 'scan-worker.js')],
    entryNames: '[name]',
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Minified: V8 parses less source at start-up (~15 ms of a cold scan here). The linked source
    // map gives readable stacks with `node --enable-source-maps`; users never see stacks.
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    external: [
      // native or WebAssembly
      'node-pty',
      'sql.js',
      'better-sqlite3',
      // the history store (sweep, report, serve --store): pg loads pg-native only when asked
      'pg',
      'kysely',
      // only behind lazy imports (live sources, serve, reports other than table/json)
      '@grpc/*',
      'dockerode',
      '@kubernetes/client-node',
      'ws',
      'prom-client',
      'xmlbuilder2',
      '@cyclonedx/*',
      'ajv',
      'ajv-formats',
      // required by src/log.ts at the first log line really written (most scans write none)
      'pino',
      'pino-pretty',
      // yaml is bundled (see yamlAsEsm below).
    ],
    plugins: [yamlAsEsm],
    // Bundled CommonJS packages (commander, pino) call require(); an ES module has none.
    banner: { js: "import { createRequire as __kensusCreateRequire } from 'node:module'; const require = __kensusCreateRequire(import.meta.url);" },
  });
} catch (err) {
  fail(`bundling the CLI failed: ${err instanceof Error ? err.message : String(err)}`);
}

// The dashboard page: one ES module and one stylesheet for the browser, plus the HTML shell.
const uiOut = join(root, 'dist', 'ui');
rmSync(uiOut, { recursive: true, force: true });
try {
  await build({
    entryPoints: [join(root, 'src', 'server', 'ui', 'main.tsx')],
    outdir: uiOut,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    legalComments: 'linked',
  });
  copyFileSync(join(root, 'src', 'server', 'ui', 'index.html'), join(uiOut, 'index.html'));
} catch (err) {
  fail(`bundling the dashboard page failed: ${err instanceof Error ? err.message : String(err)}`);
}
