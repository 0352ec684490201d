#!/usr/bin/env bash
# The main job on an embedded default: no cluster, no Docker. Builds image tarballs in code from
# the signature fixtures, scans them with the CLI and prints the result.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
[ -f dist/cli/main.js ] || npm run --silent build
node bin/kensus.js demo "$@"
