#!/usr/bin/env bash
# The README's main job. It grows with the project: today it shows what exists, later it starts a
# mesh of bmx7d nodes in network namespaces and shows encrypted gateway tunnels.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== bmx7d workspace =="
pnpm -r --silent exec node -e 'const p=require("./package.json"); console.log(`${p.name}@${p.version}`)'
node tools/check-deps.mjs
