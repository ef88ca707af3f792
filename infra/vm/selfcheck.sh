#!/usr/bin/env bash
# Checks the VM's plumbing: that a command's exit status comes back, that a timeout and a guest panic
# give 125, that the guest has the kernel features and BMX7_REQUIRE_KERNEL, and that a failing test
# inside the VM fails `pnpm test:vm` (run-tests.sh). Boots the VM seven times: about 1.5 minutes.
# Not part of `pnpm test:vm`, which boots once; run it after changing anything in infra/vm.
#
#   usage: infra/vm/selfcheck.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
cd "$project"

failures=0
expect() {
  local want=$1 what=$2
  shift 2
  echo "selfcheck: $what (want exit $want)"
  "$@" >"$here/.work/selfcheck.log" 2>&1
  local got=$?
  if [ "$got" = "$want" ]; then
    echo "selfcheck:   ok"
  else
    echo "selfcheck:   FAILED: exit $got; output:"
    sed 's/^/  | /' "$here/.work/selfcheck.log"
    failures=$((failures + 1))
  fi
}

"$here/build.sh" || exit 1

expect 0 "the guest has wireguard, ip6tnl, tun and BMX7_REQUIRE_KERNEL=1" "$here/run-vm.sh" bash -c '
  set -e
  test "$BMX7_REQUIRE_KERNEL" = 1 && test "$BMX7_VM" = 1
  ip link add b7sc0 type wireguard && ip link del b7sc0
  ip link add b7sc1 type ip6tnl mode any local ::1 remote ::2 && ip link del b7sc1
  test -c /dev/net/tun && command -v wg && command -v wireguard-go'
expect 1 "false gives 1" "$here/run-vm.sh" false
expect 7 "exit 7 gives 7" "$here/run-vm.sh" sh -c 'exit 7'
expect 125 "a timeout gives 125" env BMX7_VM_TIMEOUT=25 "$here/run-vm.sh" sleep 600
expect 125 "a guest panic gives 125" "$here/run-vm.sh" sh -c 'echo c >/proc/sysrq-trigger; sleep 60'

# A kernel-group run with one failing test, through run-tests.sh exactly as `pnpm test:vm` runs it.
# The files live in the work folder (git-ignored, outside the real kernel group) with a config
# that defines a `kernel` project holding only them.
sc="$here/.work/selfcheck"
mkdir -p "$sc"
cat >"$sc/vitest.config.mjs" <<EOF
export default {
  test: {
    root: '$project',
    projects: [{ test: { name: 'kernel', root: '$project', include: ['infra/vm/.work/selfcheck/*.kernel.test.ts'] } }],
  },
};
EOF
cat >"$sc/fail.kernel.test.ts" <<'EOF'
import { expect, it } from 'vitest';
it('runs with BMX7_REQUIRE_KERNEL=1', () => expect(process.env.BMX7_REQUIRE_KERNEL).toBe('1'));
it('fails on purpose', () => expect(1 + 1).toBe(3));
EOF
expect 1 "a failing test in the VM fails run-tests.sh" "$here/run-tests.sh" --config "$sc/vitest.config.mjs"
grep -q 'Tests  1 failed | 1 passed (2)' "$here/.work/selfcheck.log" || {
  echo "selfcheck:   FAILED: expected 1 failed and 1 passed test in the VM's vitest output"
  failures=$((failures + 1))
}

if [ "$failures" -gt 0 ]; then
  echo "selfcheck: $failures check(s) failed"
  exit 1
fi
echo "selfcheck: all checks passed"
