#!/usr/bin/env bash
# Installs what Kensus and its tests need on a fresh Debian machine, then the npm packages
# (whose prepare step compiles the TypeScript). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real parts for the tests (dockerd, containerd, registry, busybox for FROM-scratch images,
# dash for the tracker's shell matrix, zstd for compressed fixtures, promtool for the metrics).
# time (GNU time's peak RSS) and pigz: the benchmark (npm run bench). chromium: headless
# screenshots of the `kensus serve` page (test/e2e/serve-page.test.ts). postgresql: the shared
# history store (src/store/, started under a temp dir by test/support/postgres.ts).
packages=(docker.io containerd docker-registry busybox-static dash zstd prometheus apache2-utils attr openssl time pigz chromium postgresql)
need=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages ${need[*]}; run as root or install them: apt-get install -y ${need[*]}" >&2
    exit 2
  fi
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm run --silent build
fi
