#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) for building, testing and running bmx7d:
# the Debian packages the daemon and its tests use, pnpm (pinned in package.json), the node modules
# from the lockfile, and a build. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "setup: run as root (it installs Debian packages)" >&2
    exit 1
  fi
}

# Debian packages: iproute2 (ip, netns), WireGuard userspace and tools, traffic and capture tools for
# the netns tests, qemu for the kernel test VM (infra/vm), and what the daemon's tests call; for the
# Debian package (infra/deb): dpkg-dev, lintian, man-db and groff to read the man pages; promtool
# (package prometheus) checks the metrics, and chromium runs the status page's browser test.
APT_PACKAGES=(
  iproute2 iputils-ping procps psmisc ca-certificates curl
  wireguard-go wireguard-tools
  iperf3 tshark
  qemu-system-x86
  python3 xz-utils cpio
  dpkg-dev lintian man-db groff-base
  prometheus chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  need_root
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update -qq
  # Only promtool is wanted of prometheus: no package may start its service (a Prometheus server
  # listening on every address) while it is installed. A policy-rc.d that refuses every start
  # does that, unless the machine has its own; it goes again when apt is done.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    own_policy=1
    printf '#!/bin/sh\n# infra/setup.sh: no service starts while it installs packages\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -n "$own_policy" ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  # and it does not start at the next boot either
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    systemctl disable prometheus.service >/dev/null 2>&1 || true
  fi
fi

# pnpm, at exactly the version package.json pins.
want=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  npm install -g --no-fund --no-audit "pnpm@$want"
fi

pnpm install --frozen-lockfile
pnpm build
