#!/usr/bin/env node
'use strict';
// Thin launcher. CommonJS (bin/package.json) because Node starts a CommonJS entry faster than an
// ES module one, and `--version`, which scripts call to probe for Kensus, loads nothing else.
// The CLI itself is the bundle `npm run build` writes to dist/cli-bundle/.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  // zlib inflates on libuv's thread pool (4 threads unless told): as many as the layers
  // walked at once (src/image/read.ts layerConcurrency), set before anything uses the pool.
  if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, Math.min(8, require('node:os').availableParallelism())));
  import('../dist/cli-bundle/main.js').then(
    async ({ main }) => {
      process.exitCode = await main(args);
    },
    (err) => {
      const notBuilt = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('cli-bundle');
      process.stderr.write(
        notBuilt
          ? 'kensus: the CLI is not built (dist/cli-bundle/ is missing). Run `npm run build` in the Kensus folder (npm install does it).\n'
          : `kensus: could not load the CLI: ${err && err.message}\n`,
      );
      process.exitCode = 2;
    },
  );
}
