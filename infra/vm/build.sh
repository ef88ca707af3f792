#!/usr/bin/env bash
# Builds the kernel test VM in infra/vm/.work: Debian's current kernel (uncompressed vmlinux, booted
# through its PVH entry), and a small initramfs holding busybox-static, the kernel modules the tests
# need with their dependencies, the wg tool, and ./init. Nothing is installed on the host: the .debs
# are fetched with `apt-get download` and unpacked with `dpkg-deb -x`.
#
# The kernel is whatever linux-image-amd64 depends on today (never a pinned ABI: superseded ABI
# packages leave the archive). The build is cached: it is redone only when a file is missing, or when
# one of the three package versions or the recipe (build.sh, init) changed. Exits non-zero on failure.
#
#   usage: infra/vm/build.sh [--force]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work="$here/.work"
mkdir -p "$work"

# Modules the kernel group needs; build.sh adds every dependency modules.dep lists for them.
MODULES=(
  virtio_pci 9pnet_virtio 9p virtio-rng # transport for the 9p shares, entropy for Node
  tun veth                              # wireguard-go's TUN, links between namespaces
  wireguard ip6_tunnel tunnel6          # what the host kernel lacks
)

log() { echo "vm-build: $*" >&2; }
die() {
  log "$*"
  exit 1
}

for tool in apt-cache apt-get dpkg-deb xz flock; do
  command -v "$tool" >/dev/null || die "needs $tool (Debian: apt, dpkg, xz-utils, util-linux)"
done

# One build at a time: several test runs may start together.
exec 9>"$work/build.lock"
flock 9

# The binary package linux-image-amd64 currently depends on, e.g. linux-image-6.1.0-56-amd64.
kernel_package() {
  { apt-cache depends linux-image-amd64 2>/dev/null || true; } |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1
}
candidate() {
  { apt-cache policy "$1" 2>/dev/null || true; } | sed -n 's/^ *Candidate: //p' | { grep -v '(none)' || true; } | head -n1
}
apt_update() {
  [ "$(id -u)" = 0 ] || die "the package lists lack $1; run apt-get update as root (or infra/setup.sh)"
  log "package lists lack $1: running apt-get update"
  apt-get update -qq >&2
}

kpkg=$(kernel_package)
if [ -z "$kpkg" ] || [ -z "$(candidate busybox-static)" ]; then
  apt_update "linux-image-amd64 or busybox-static"
  kpkg=$(kernel_package)
fi
[ -n "$kpkg" ] || die "cannot find the package linux-image-amd64 depends on"
packages=("$kpkg" busybox-static wireguard-tools)

# The cache key: the three package versions and this recipe (build.sh and init).
recipe=$(cat "$here/build.sh" "$here/init" | sha256sum | cut -c1-16)
stamp="recipe=$recipe "
for p in "${packages[@]}"; do
  v=$(candidate "$p")
  [ -n "$v" ] || die "no candidate version for $p"
  stamp+="$p=$v "
done

if [ "${1:-}" != --force ] && [ -f "$work/vmlinux" ] && [ -f "$work/initramfs.cpio" ] &&
  [ "$(cat "$work/stamp" 2>/dev/null)" = "$stamp" ]; then
  log "up to date: $stamp"
  exit 0
fi
log "building for $stamp"
rm -f "$work/stamp"

# Download. apt-get download writes into the current directory; as root it warns that the _apt user
# cannot write there, which is harmless.
debs="$work/debs"
rm -rf "$debs" && mkdir -p "$debs"
download() { (cd "$debs" && apt-get download -q "${packages[@]}" 2>&1 | { grep -v 'unsandboxed as root' >&2 || true; }) }
if ! download || [ "$(find "$debs" -name '*.deb' | wc -l)" != 3 ]; then
  # Stale lists point at files that have left the archive: refresh once and retry.
  apt_update "current versions"
  kpkg=$(kernel_package)
  packages=("$kpkg" busybox-static wireguard-tools)
  stamp="recipe=$recipe "
  for p in "${packages[@]}"; do stamp+="$p=$(candidate "$p") "; done
  rm -f "$debs"/*.deb
  download
fi

unpacked="$work/unpacked"
rm -rf "$unpacked" && mkdir -p "$unpacked"
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$unpacked"; done

bb="$unpacked/bin/busybox"
[ -x "$bb" ] || die "busybox-static has no bin/busybox"
# Debian 12 ships modules in /lib/modules, later releases in /usr/lib/modules.
moddir=""
for d in "$unpacked"/lib/modules/* "$unpacked"/usr/lib/modules/*; do [ -d "$d" ] && moddir=$d && break; done
[ -n "$moddir" ] || die "the kernel package has no modules directory"
kver=$(basename "$moddir")
modbase=${moddir%/lib/modules/*} # busybox depmod -b wants the directory holding lib/modules
vmlinuz="$unpacked/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "the kernel package has no boot/vmlinuz-$kver"

# The .deb ships no modules.dep (its postinst makes one): busybox depmod writes it, listing every
# transitive dependency on each module's line.
log "depmod $kver"
"$bb" depmod -b "$modbase" "$kver"

# Initramfs tree.
rootfs="$work/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,dev,proc,sys,mnt/host,tmp,vmtools/bin} "$rootfs/lib/modules/$kver"
cp "$bb" "$rootfs/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
# wg from the fetched wireguard-tools: the guest falls back on it where the host has no wg.
cp "$unpacked/usr/bin/wg" "$rootfs/vmtools/bin/wg"
cp "$here/init" "$rootfs/init"
chmod 755 "$rootfs/init"

wanted=()
for m in "${MODULES[@]}"; do
  line=$(grep -E "(^|/)$m\.ko:" "$moddir/modules.dep" | head -n1) || die "module $m not found in $kver"
  for f in ${line/:/}; do wanted+=("$f"); done
done
for f in $(printf '%s\n' "${wanted[@]}" | sort -u); do
  mkdir -p "$rootfs/lib/modules/$kver/$(dirname "$f")"
  cp "$moddir/$f" "$rootfs/lib/modules/$kver/$f"
done
"$bb" depmod -b "$rootfs" "$kver"
printf '%s\n' "${MODULES[@]}" >"$rootfs/modules"

log "initramfs: $(find "$rootfs/lib/modules" -name '*.ko' | wc -l) modules"
(cd "$rootfs" && find . -mindepth 1 | LC_ALL=C sort | "$bb" cpio -o -H newc -R 0:0 2>/dev/null) >"$work/initramfs.cpio.tmp"
mv "$work/initramfs.cpio.tmp" "$work/initramfs.cpio"

# The bzImage's xz decompressor costs about 6 s under TCG: extract the uncompressed vmlinux (its
# PVH entry boots directly) the way the kernel's scripts/extract-vmlinux does.
log "extracting vmlinux"
off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ(?=\x00)' "$vmlinuz") || die "no xz stream in $vmlinuz"
off=${off%%:*}
[ -n "$off" ] || die "no xz stream in $vmlinuz"
xz -dc --single-stream <(tail -c +$((off + 1)) "$vmlinuz") >"$work/vmlinux.tmp"
[ "$(head -c4 "$work/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] || die "extracted vmlinux is not ELF"
mv "$work/vmlinux.tmp" "$work/vmlinux"

echo "$kver" >"$work/kernel-release"
echo "$stamp" >"$work/stamp"
rm -rf "$unpacked" "$debs"
log "built $(du -h "$work/vmlinux" | cut -f1) vmlinux, $(du -h "$work/initramfs.cpio" | cut -f1) initramfs.cpio"
