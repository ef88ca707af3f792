#!/usr/bin/env bash
# Runs one command as root inside the kernel test VM and exits with its status.
#
#   usage: infra/vm/run-vm.sh COMMAND [ARG...]
#   e.g.   infra/vm/run-vm.sh ip -d link add t0 type ip6tnl mode any
#
# The VM (QEMU, software emulation: TCG) boots Debian's kernel from build.sh with no network card.
# Its init chroots into the host's / (shared read-only over 9p) with the project shared read-write
# at its own path, so the command runs with the host's node, node_modules, iproute2, wg and
# wireguard-go, in the caller's directory when that is inside the project (else the project root).
# The command sees PATH from the caller, BMX7_VM=1, BMX7_REQUIRE_KERNEL=1 (kernel tests fail instead
# of skipping), NO_COLOR=1 and the caller's other BMX7_* variables. Its stdin is the VM console.
#
# Exit status: the command's own, read from a console marker; 125 when the VM could not run the
# command to its end: a build failure, the timeout, a guest panic, or a failure in the guest's init.
#
# Environment: BMX7_VM_TIMEOUT seconds for the whole run, build and boot included (default 600, so
# that a run never passes 10 minutes; the kernel group takes 3-6 minutes on a busy 2-core machine,
# half of it the crypt-tun line with kernel WireGuard and wireguard-go);
# BMX7_VM_MEM guest memory in MiB (default 1024).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
work="$here/.work"
budget=${BMX7_VM_TIMEOUT:-600}
mem=${BMX7_VM_MEM:-1024}
VM_FAILED=125

say() { echo "vm: $*" >&2; }
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi
case "$project" in
  *[[:space:],]*)
    say "the project path must not contain spaces or commas (kernel command line, qemu options): $project"
    exit $VM_FAILED
    ;;
esac
command -v qemu-system-x86_64 >/dev/null || {
  say "needs qemu-system-x86_64 (Debian: qemu-system-x86)"
  exit $VM_FAILED
}
start=$SECONDS
"$here/build.sh" || {
  say "building the VM failed"
  exit $VM_FAILED
}

id=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$work/run"
script="$work/run/$id.sh"
log="$work/run/$id.log"
trap 'rm -f "$script"' EXIT

case "$PWD/" in
  "$project"/*) cwd=$PWD ;;
  *) cwd=$project ;;
esac
{
  echo "# Written by infra/vm/run-vm.sh, run by the VM's init inside the host's / (bash)."
  printf 'export PATH=%q\n' "$PATH:/run/bmx7-vm/bin"
  echo 'export BMX7_VM=1 BMX7_REQUIRE_KERNEL=1 NO_COLOR=1'
  while IFS= read -r var; do
    case "$var" in BMX7_VM_* | BMX7_VM | BMX7_REQUIRE_KERNEL) continue ;; esac
    printf 'export %s=%q\n' "$var" "${!var}"
  done < <(compgen -e | grep '^BMX7_' || true)
  printf 'cd %q || exit 125\n' "$cwd"
  printf '%q ' "$@"
  echo
} >"$script"

timeout=$((budget - (SECONDS - start)))
if [ "$timeout" -lt 10 ]; then
  say "the build used up the ${budget}s budget (BMX7_VM_TIMEOUT); exit $VM_FAILED"
  exit $VM_FAILED
fi
say "booting $(cat "$work/kernel-release") under TCG (timeout ${timeout}s): $*"
boot=$SECONDS
# -nic none: no network card (and no iPXE ROM to load). -no-reboot with panic=-1: a guest panic ends
# qemu. Serial console lines end in CR LF: strip the CR, and the firmware's terminal escapes, so the
# output reads like a local run.
timeout -k 5 "$timeout" qemu-system-x86_64 \
  -accel tcg -m "$mem" -nographic -no-reboot -nic none \
  -kernel "$work/vmlinux" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 quiet panic=-1 BMX7_VM_MARK=$id BMX7_VM_PROJECT=$project BMX7_VM_SCRIPT=$script" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$project,mount_tag=project,security_model=none,multidevs=remap" \
  -device virtio-rng-pci \
  </dev/null 2>&1 | sed -u -e 's/\r//g; s/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/^\(Booting from ROM\.\.\)/\1\n/' | tee "$log"
qemu_status=${PIPESTATUS[0]}
elapsed=$((SECONDS - boot))
mv -f "$log" "$work/last-run.log"

marker=$(grep -ao "BMX7-VM-EXIT-$id=[0-9]*" "$work/last-run.log" | tail -n1)
if [ -n "$marker" ]; then
  status=${marker##*=}
  say "command exited $status (VM ran ${elapsed}s)"
  exit "$status"
fi
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
  say "timed out after ${budget}s (BMX7_VM_TIMEOUT); exit $VM_FAILED"
else
  say "the VM ended without reporting a status (qemu exit $qemu_status: guest panic?); exit $VM_FAILED"
fi
exit $VM_FAILED
