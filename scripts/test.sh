#!/usr/bin/env bash
# The test command: sets up what is missing, then runs the whole suite against real daemons
# (dockerd, containerd, docker-registry) that the test setup starts under a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"
