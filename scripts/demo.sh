#!/usr/bin/env bash
# The whole job on an embedded default: no cluster, no Docker. Builds image tarballs in code from
# the signature fixtures and scans them, then scans the built-in fixture cluster as a snapshot
# (NODES, LICENCE USAGE, GPU SKUS, ENTITLEMENTS against docs/entitlements.yaml) and prints it all.
# Extra arguments go to `kensus demo` (e.g. -o wide, -o json).
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo writes zstd-compressed OCI layers with Debian's zstd (reading falls back to pure JS).
if ! command -v zstd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends zstd >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends zstd >/dev/null; }
  else
    echo "demo: the zstd command is missing; install it (apt-get install -y zstd) and run again" >&2
    exit 2
  fi
fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
[ -f dist/cli-bundle/main.js ] || npm run --silent build
node bin/kensus.js demo "$@"
