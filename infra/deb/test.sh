#!/usr/bin/env bash
# The Debian package's test: build, install, run, purge, and nothing left behind.
#
#   A [eth1] ──veth── [eth1] B          two network namespaces
#   client: tunOut=pkt, cryptTun=2      gateway: tunIn=pkt /network=2001:db8:7::/64, cryptTun=1,
#   (WireGuard only)                    2001:db8:7::1 on its lo; tunOut=back to the clients
#
# 1. Builds the package (infra/deb/build.sh), runs lintian on it (no error, no warning), and
#    purges a bmx7d an interrupted run left installed.
# 2. Records what is in /usr, /etc and /var (not the parts that change by themselves: logs, apt's
#    and dpkg's state, caches, /var/tmp) and the kernel's links, namespaces and modules.
# 3. `apt-get install ./build/deb/bmx7d_<version>_<arch>.deb`; checks `--version` of both
#    programs, `bmx7ctl --help`, the man pages (man -l and man), the completion, the unit
#    (systemd-analyze verify, and its security exposure), and that the conffile parses with every
#    example in it switched on.
# 4. Runs the installed bmx7d in A and B with the installed conffile (keys and runtime directories
#    in a scratch directory instead of /var/lib/bmx7d and /run/bmx7d), each inside a hand-made
#    approximation of the unit's sandbox, since systemd may not be PID 1 here: only CAP_NET_ADMIN
#    and CAP_NET_RAW, no new privileges, every file system read-only but the paths the unit makes
#    writable (its state and runtime directories, /run/wireguard, /proc/sys/net). Waits until each
#    lists the other in `bmx7ctl show originators`, and until A reaches 2001:db8:7::1 through its
#    WireGuard tunnel to B (the kernel's WireGuard, else wireguard-go, which the daemon starts);
#    reloads both with SIGHUP, then stops them with SIGTERM (exit status 0).
# 5. `apt-get purge bmx7d`; checks that dpkg no longer knows it, that /usr, /etc and /var hold what
#    they held before, and that no link, namespace, WireGuard device or socket of the run is left.
# Namespaces, processes and the scratch directory are removed on every exit path, and the package
# purged if the run installed it. Needs root, apt, iproute2, dpkg-dev, lintian, man-db and WireGuard
# (wireguard-go or the kernel's); ./infra/setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/../.."

TIMEOUT_S=${PACKAGE_TEST_TIMEOUT_S:-60}
WG_RUN=/run/wireguard

fail() {
  echo "test:package: FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
[ "$(id -u)" = 0 ] || fail "run as root (it installs a package and creates network namespaces)"
for tool in apt-get dpkg-query ip setpriv unshare man systemd-analyze lintian; do
  command -v "$tool" >/dev/null || fail "$tool is missing (./infra/setup.sh)"
done
export DEBIAN_FRONTEND=noninteractive

TAG=b7pkg$$
NS_A=$TAG-a
NS_B=$TAG-b
SCRATCH=$(mktemp -d /tmp/bmx7d-package-test.XXXXXX)
chmod 0755 "$SCRATCH"
PIDS=()
installed_by_us=0

purge_package() {
  if dpkg-query -W -f='${db:Status-Status}' bmx7d 2>/dev/null | grep -qv '^not-installed$'; then
    apt-get purge -y -qq bmx7d >/dev/null
  fi
}
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ns in "$NS_A" "$NS_B"; do
    # processes still in a namespace (a wireguard-go whose daemon was killed) go with it
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  [ -n "${PFX:-}" ] && rm -f "$WG_RUN/$PFX"[ab]*.sock
  if [ "$installed_by_us" = 1 ] && [ "$code" != 0 ]; then purge_package || true; fi
  rm -rf "$SCRATCH"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What the package may touch. Left out: what changes by itself or through apt and dpkg alone.
snapshot() {
  find /usr /etc /var -xdev \
    \( -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg \
    -o -path /var/tmp -o -path /var/backups -o -path /var/mail -o -path /var/spool \
    -o -path /var/lib/ucf -o -path /etc/ld.so.cache \) -prune -o -printf '%y %m %p\n' |
    LC_ALL=C sort
}
kernel_state() {
  echo "# links"
  ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | LC_ALL=C sort
  echo "# namespaces"
  ip netns list | awk '{ print $1 }' | LC_ALL=C sort
  if [ -r /proc/modules ]; then
    echo "# modules"
    awk '{ print $1 }' /proc/modules | LC_ALL=C sort
  fi
}

# ---------------------------------------------------------------- build, and a clean start
step "building the package"
DEB=$(infra/deb/build.sh)
[ -f "$DEB" ] || fail "infra/deb/build.sh made no package"
VERSION=$(dpkg-deb -f "$DEB" Version)
echo "$DEB"
step "lintian"
# (lintian says it would rather not run as root; it checks the same)
lintian --fail-on error,warning "$DEB" >"$SCRATCH/lintian" 2>&1 ||
  fail "lintian reports errors or warnings:
$(grep -v 'running with root privileges' "$SCRATCH/lintian")"
if dpkg-query -W -f='${db:Status-Status}' bmx7d 2>/dev/null | grep -qv '^not-installed$'; then
  step "purging a bmx7d left installed by an earlier run"
  purge_package
fi

snapshot >"$SCRATCH/files.before"
kernel_state >"$SCRATCH/kernel.before"

# ---------------------------------------------------------------- install
step "apt-get install $(basename "$DEB")"
# apt reads a local package as its unprivileged user: give it a copy it may read
cp "$DEB" "$SCRATCH/"
installed_by_us=1
apt-get install -y -qq "$SCRATCH/$(basename "$DEB")" >"$SCRATCH/apt.log" 2>&1 ||
  fail "apt-get install failed: $(tail -5 "$SCRATCH/apt.log")"
[ "$(dpkg-query -W -f='${db:Status-Status}' bmx7d)" = installed ] || fail "dpkg does not list bmx7d as installed"

step "programs, man pages, completion, unit"
[ "$(/usr/bin/bmx7d --version)" = "bmx7d $VERSION" ] || fail "bmx7d --version: $(/usr/bin/bmx7d --version 2>&1)"
/usr/bin/bmx7ctl --version | grep -q "$VERSION" || fail "bmx7ctl --version: $(/usr/bin/bmx7ctl --version 2>&1)"
/usr/bin/bmx7ctl --help >"$SCRATCH/help" || fail "bmx7ctl --help failed"
grep -q 'show' "$SCRATCH/help" || fail "bmx7ctl --help lists no show command"
for page in bmx7d bmx7ctl; do
  MANWIDTH=80 man -l "/usr/share/man/man8/$page.8.gz" 2>"$SCRATCH/man.err" | grep -q "^NAME" ||
    fail "man -l $page.8.gz renders no NAME section: $(head -3 "$SCRATCH/man.err")"
  [ "$(man -w "$page")" = "/usr/share/man/man8/$page.8.gz" ] || fail "man -w $page: $(man -w "$page" 2>&1)"
  MANWIDTH=80 man "$page" 2>/dev/null | grep -q "$page" || fail "man $page shows nothing"
done
bash -c 'source /usr/share/bash-completion/completions/bmx7ctl && complete -p bmx7ctl' >/dev/null ||
  fail "the bash completion defines no completion for bmx7ctl"
UNIT=/usr/lib/systemd/system/bmx7d.service
systemd-analyze verify "$UNIT" 2>"$SCRATCH/verify" || fail "systemd-analyze verify: $(cat "$SCRATCH/verify")"
# exposure 0.0 (locked down) … 10.0 (unprotected); the unit's is 2.1: this catches a regression
exposure=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null | sed -n 's/.*exposure level for bmx7d.service: \([0-9.]*\).*/\1/p')
systemd-analyze security --offline=true --threshold=25 "$UNIT" >/dev/null 2>&1 ||
  fail "the unit's exposure is $exposure, above 2.5 (systemd-analyze security --offline=true $UNIT)"
/usr/bin/bmx7d --config /etc/bmx7d/bmx7d.conf --help >/dev/null || fail "/etc/bmx7d/bmx7d.conf does not parse"
sed -E 's/^#([A-Za-z]+=)/\1/' /etc/bmx7d/bmx7d.conf >"$SCRATCH/all-examples.conf"
/usr/bin/bmx7d --config "$SCRATCH/all-examples.conf" --help >/dev/null ||
  fail "/etc/bmx7d/bmx7d.conf does not parse with its examples switched on"

# ---------------------------------------------------------------- two installed daemons
step "two installed daemons in namespaces $NS_A and $NS_B, inside the unit's sandbox (approximated)"
# WireGuard devices are named after tunDevName, and wireguard-go's sockets share one directory per
# machine: a prefix no other run uses ("K", a free letter; a and b for the two nodes)
PFX=
for l in c d e f g h i j k m n p q r s t u v w x y z; do
  if ! compgen -G "$WG_RUN/K$l*" >/dev/null && ! ip -o link show 2>/dev/null | grep -q ": K$l"; then
    PFX=K$l
    break
  fi
done
[ -n "$PFX" ] || fail "no free tunnel device prefix (K?) in $WG_RUN"
for ns in "$NS_A" "$NS_B"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
done
ip link add eth1 netns "$NS_A" type veth peer name eth1 netns "$NS_B"
ip -n "$NS_A" link set eth1 up
ip -n "$NS_B" link set eth1 up
ip -n "$NS_B" addr add 2001:db8:7::1/128 dev lo

# The sandbox: ProtectSystem=strict (every mount read-only but /dev, /proc and /sys),
# ProtectKernelTunables=yes (/proc/sys and /sys read-only) with ReadWritePaths=/proc/sys/net and
# /run/wireguard, the state and runtime directories writable, CapabilityBoundingSet=CAP_NET_ADMIN
# CAP_NET_RAW and NoNewPrivileges=yes. It runs in the namespace's own mount namespace.
cat >"$SCRATCH/sandbox.sh" <<'EOF'
#!/bin/sh
# sandbox.sh WRITABLE_DIR... -- COMMAND ARGS...
set -e
for mp in $(awk '{ print $5 }' /proc/self/mountinfo | sort -u); do
  case $mp in /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;; esac
  mount -o remount,bind,ro "$mp"
done
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -o remount,bind,ro /sys
while [ "$1" != -- ]; do
  mount --bind "$1" "$1"
  mount -o remount,bind,rw "$1"
  shift
done
shift
exec setpriv --bounding-set=-all,+net_admin,+net_raw --inh-caps=-all --no-new-privs -- "$@"
EOF
chmod 0755 "$SCRATCH/sandbox.sh"
mkdir -p "$WG_RUN"

declare -A EXTRA=(
  [a]="tunDev=dflt /tun6Address=fdaa:7:1::1/64 tunOut=pkt /network=2001:db8:7::/64 cryptTun=2"
  [b]="tunDev=dflt /tun6Address=fdaa:7:2::1/64 tunIn=pkt /network=2001:db8:7::/64 tunOut=back /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128 cryptTun=1"
)
declare -A PID
for n in a b; do
  ns=$TAG-$n
  mkdir -m 0700 "$SCRATCH/$n" "$SCRATCH/$n/state" "$SCRATCH/$n/run"
  # shellcheck disable=SC2086 # EXTRA holds several options
  ip netns exec "$ns" unshare --mount --propagation private -- "$SCRATCH/sandbox.sh" \
    "$SCRATCH/$n/state" "$SCRATCH/$n/run" /proc/sys/net "$WG_RUN" -- \
    /usr/bin/bmx7d --config /etc/bmx7d/bmx7d.conf runtimeDir="$SCRATCH/$n/run" \
    nodeRsaKey=6 /keyPath="$SCRATCH/$n/state/rsa.der" hostname="$TAG-$n" \
    descSqnPath="$SCRATCH/$n/state/descSqn" dev=eth1 tunDevName="$PFX$n" ${EXTRA[$n]} \
    >"$SCRATCH/$n.log" 2>&1 &
  PID[$n]=$!
  PIDS+=("$!")
done
ctl() { /usr/bin/bmx7ctl --runtime-dir "$SCRATCH/$1/run" "${@:2}"; }
logs() { for n in a b; do echo "--- $n.log"; tail -15 "$SCRATCH/$n.log"; done; }
# wait_for SECONDS WHAT COMMAND...: polls until COMMAND (a function too) succeeds
wait_for() {
  local until=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    for n in a b; do kill -0 "${PID[$n]}" 2>/dev/null || fail "bmx7d $n exited while waiting for $what:
$(logs)"; done
    [ "$SECONDS" -lt "$until" ] || fail "no $what in time:
$(logs)"
    sleep 0.3
  done
}
knows() { ctl "$1" show originators 2>/dev/null | grep -q "$TAG-$2"; }
converged() { knows a b && knows b a; }
wait_for "$TIMEOUT_S" "convergence" converged
for n in a b; do
  [ "$(cat "/proc/${PID[$n]}/comm")" = bmx7d ] || fail "process ${PID[$n]} is $(cat "/proc/${PID[$n]}/comm"), not bmx7d"
done

# the sandbox held: only the two capabilities (bits 12 and 13), no new privileges
for n in a b; do
  caps=$(awk '/^CapEff:/ { print $2 }' "/proc/${PID[$n]}/status")
  [ "$caps" = 0000000000003000 ] || fail "bmx7d $n runs with capabilities $caps, not CAP_NET_ADMIN and CAP_NET_RAW only"
  grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/${PID[$n]}/status" || fail "bmx7d $n may gain privileges"
done
[ ! -e /var/lib/bmx7d ] || fail "the daemons wrote /var/lib/bmx7d although their paths were elsewhere"

step "A reaches 2001:db8:7::1 through its WireGuard tunnel to B"
reaches() { ip netns exec "$NS_A" ping -6 -c 1 -W 1 2001:db8:7::1 >/dev/null 2>&1; }
wait_for "$TIMEOUT_S" "ping through the tunnel" reaches
dev=$(ip -n "$NS_A" -6 route get 2001:db8:7::1 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
case $dev in "${PFX}a"wg*) ;; *) fail "2001:db8:7::1 is routed through '$dev', not A's WireGuard device" ;; esac
echo "route: 2001:db8:7::1 dev $dev"
ctl a show tunnels | sed -n '1,4p'
if pgrep -f "wireguard-go -f ${PFX}" >/dev/null; then
  for pid in $(pgrep -f "wireguard-go -f ${PFX}"); do
    c=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
    [ "$c" = 0000000000003000 ] || fail "wireguard-go $pid runs with capabilities $c"
  done
  echo "wireguard-go: $(pgrep -fc "wireguard-go -f ${PFX}") processes, with CAP_NET_ADMIN and CAP_NET_RAW only"
fi

step "SIGHUP reloads, SIGTERM stops"
for n in a b; do kill -HUP "${PID[$n]}"; done
reloaded() { grep -q 'SIGHUP: config reloaded' "$SCRATCH/a.log" && grep -q 'SIGHUP: config reloaded' "$SCRATCH/b.log"; }
wait_for 10 "reload after SIGHUP" reloaded
for n in a b; do kill -TERM "${PID[$n]}"; done
for n in a b; do
  code=0
  wait "${PID[$n]}" || code=$?
  [ "$code" = 0 ] || fail "bmx7d $n exited with status $code after SIGTERM:
$(logs)"
done
PIDS=()
for ns in "$NS_A" "$NS_B"; do ip netns del "$ns"; done

# ---------------------------------------------------------------- purge
step "apt-get purge bmx7d"
apt-get purge -y -qq bmx7d >"$SCRATCH/apt.log" 2>&1 || fail "apt-get purge failed: $(tail -5 "$SCRATCH/apt.log")"
installed_by_us=0
status=$(dpkg-query -W -f='${db:Status-Status}' bmx7d 2>/dev/null || echo not-installed)
[ "$status" = not-installed ] || fail "dpkg still knows bmx7d after purge ($status)"
snapshot >"$SCRATCH/files.after"
kernel_state >"$SCRATCH/kernel.after"
if ! diff -u "$SCRATCH/files.before" "$SCRATCH/files.after" >"$SCRATCH/files.diff"; then
  fail "/usr, /etc or /var differ from before the install:
$(head -40 "$SCRATCH/files.diff")"
fi
# no new link in this namespace and none of the run's namespaces (only this run's: other tests may
# make and remove their own meanwhile); modules the kernel loaded for the test bed (veth, tun)
# stay loaded, as the kernel keeps them, and are only reported
new_links=$(comm -13 <(sed -n '/^# links/,/^# namespaces/p' "$SCRATCH/kernel.before" | LC_ALL=C sort) \
  <(sed -n '/^# links/,/^# namespaces/p' "$SCRATCH/kernel.after" | LC_ALL=C sort) | tr '\n' ' ')
[ -z "$new_links" ] || fail "links left: $new_links"
! ip netns list | grep -q "^$TAG" || fail "namespaces left: $(ip netns list | grep "^$TAG" | tr '\n' ' ')"
new_modules=$(comm -13 <(sed -n '/^# modules/,$p' "$SCRATCH/kernel.before" | LC_ALL=C sort) \
  <(sed -n '/^# modules/,$p' "$SCRATCH/kernel.after" | LC_ALL=C sort) | tr '\n' ' ')
! compgen -G "$WG_RUN/$PFX*" >/dev/null || fail "wireguard-go sockets left: $(compgen -G "$WG_RUN/$PFX*" | tr '\n' ' ')"
! pgrep -f "wireguard-go -f $PFX" >/dev/null || fail "wireguard-go processes left"
! pgrep -f "hostname=$TAG-" >/dev/null || fail "bmx7d processes left"
for d in /run/bmx7d /var/lib/bmx7d /etc/bmx7d /usr/lib/bmx7d; do [ ! -e "$d" ] || fail "$d is left"; done

echo "test:package: ok: bmx7d $VERSION installed, two daemons converged and tunnelled in the sandbox, purged without a trace (unit exposure $exposure${new_modules:+; modules the kernel loaded: $new_modules})"
