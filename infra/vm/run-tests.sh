#!/usr/bin/env bash
# `pnpm test:vm`: runs the kernel test group (*.kernel.test.ts) inside the VM, as root, on Debian's
# kernel, and exits with vitest's status (125 when the VM itself failed: see run-vm.sh).
#
#   usage: infra/vm/run-tests.sh [VITEST FILTER...]     e.g. infra/vm/run-tests.sh ip6tnl
#
# Inside the VM BMX7_REQUIRE_KERNEL=1 is set, so a kernel suite whose feature is missing fails
# instead of skipping. vitest's output goes through `cat` (pipefail keeps its status) so that it uses
# its plain reporter rather than the console TTY's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
exec "$here/run-vm.sh" bash -o pipefail -c \
  'node_modules/.bin/vitest run --project kernel --reporter=verbose "$@" | cat' vitest-kernel "$@"
