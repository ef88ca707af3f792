#!/usr/bin/env bash
# The README's main job: a small BMX7 mesh of bmx7d nodes in network namespaces, with a gateway.
#
#   n1 [eth1] ──veth── [eth1] n2 [eth2] ──veth── [eth1] n3 [up0] ──veth── [eth0] uplink
#   client                    relay                     gateway             192.0.2.2
#   tunOut …                                            tunIn …             2001:db8:1::2
#
# Starts bmx7d in each namespace (own key, runtime directory and descSqn file under a scratch
# directory), waits until n1 routes to both others, shows `bmx7ctl show originators` from n1,
# pings n3 from n1 across two hops; then shows n1's `bmx7ctl show tunnels` (n3 announces the
# uplink's networks, n1 searches them) and pings the uplink host through the tunnel, IPv6 and
# IPv4; and removes everything again (on every exit path).
# Needs root, iproute2 and a build (./infra/setup.sh or pnpm build).
set -euo pipefail
cd "$(dirname "$0")/.."

BMX7D="$PWD/apps/bmx7d/dist/main.js"
BMX7CTL="$PWD/apps/bmx7ctl/dist/main.js"
TIMEOUT_S=${DEMO_TIMEOUT_S:-40}

if [ "$(id -u)" != 0 ]; then
  echo "demo: run as root (it creates network namespaces)" >&2
  exit 1
fi
if [ ! -f "$BMX7D" ] || [ ! -f "$BMX7CTL" ]; then
  echo "demo: build first (./infra/setup.sh or pnpm build)" >&2
  exit 1
fi

TAG="b7demo$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bmx7-demo.XXXXXX")
NODES=(n1 n2 n3)
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  for n in "${NODES[@]}" up; do ip netns del "$TAG-$n" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns() { echo "$TAG-$1"; }

echo "== building the mesh: n1 — n2 — n3 (namespaces $TAG-*)"
for n in "${NODES[@]}"; do
  ip netns add "$(ns "$n")"
  ip -n "$(ns "$n")" link set lo up
  ip netns exec "$(ns "$n")" sysctl -qw net.ipv6.conf.default.accept_dad=0
  mkdir -p "$WORK/$n"
done
ip link add eth2 netns "$(ns n1)" type veth peer name eth1 netns "$(ns n2)"
ip link add eth2 netns "$(ns n2)" type veth peer name eth1 netns "$(ns n3)"
ip -n "$(ns n1)" link set eth2 name eth1
for l in "n1 eth1" "n2 eth1" "n2 eth2" "n3 eth1"; do
  set -- $l
  ip -n "$(ns "$1")" link set "$2" up
done
# the uplink behind the gateway: a host with an IPv4 and an IPv6 address, n3 its default route
ip netns add "$(ns up)"
ip -n "$(ns up)" link set lo up
ip link add up0 netns "$(ns n3)" type veth peer name eth0 netns "$(ns up)"
ip -n "$(ns n3)" link set up0 up
ip -n "$(ns up)" link set eth0 up
ip -n "$(ns n3)" addr add 192.0.2.1/24 dev up0
ip -n "$(ns n3)" -6 addr add 2001:db8:1::1/64 dev up0 nodad
ip -n "$(ns up)" addr add 192.0.2.2/24 dev eth0
ip -n "$(ns up)" -6 addr add 2001:db8:1::2/64 dev eth0 nodad
ip -n "$(ns up)" route add default via 192.0.2.1
ip -n "$(ns up)" -6 route add default via 2001:db8:1::1

declare -A DEVS=([n1]="dev=eth1" [n2]="dev=eth1 dev=eth2" [n3]="dev=eth1")
# tunnels (the reference's tun options): n3 announces the uplink's networks and routes replies back
# through a tunnel of its own; n1 searches them
declare -A TUN=(
  [n1]="tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24 tunOut=up6 /network=2001:db8:1::/64 tunOut=up4 /network=192.0.2.0/24"
  [n2]=""
  [n3]="tunDev=dflt /tun6Address=fdaa:3::1/64 /tun4Address=10.3.0.1/24 tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128 tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32"
)
echo "== starting bmx7d in every node"
for n in "${NODES[@]}"; do
  # shellcheck disable=SC2086
  ip netns exec "$(ns "$n")" node "$BMX7D" runtimeDir="$WORK/$n/run" debug=0 \
    nodeRsaKey=6 /keyPath="$WORK/$n/rsa.der" hostname="demo-$n" ${DEVS[$n]} \
    descSqnPath="$WORK/$n/descSqn" ${TUN[$n]} >"$WORK/$n/log" 2>&1 &
  PIDS+=($!)
done

primary() { ip -n "$(ns "$1")" -6 -o addr show scope global | sed -n 's/.*inet6 \(fd70:[0-9a-f:]*\)\/16.*/\1/p' | head -1; }
routes() { ip -n "$(ns "$1")" -6 route show table 70 2>/dev/null | wc -l; }

echo "== waiting until n1 routes to n2 and n3 (table 70)"
start=$SECONDS
until [ "$(routes n1)" -ge 2 ] && [ "$(routes n3)" -ge 2 ]; do
  if [ $((SECONDS - start)) -ge "$TIMEOUT_S" ]; then
    echo "demo: no convergence within ${TIMEOUT_S} s; n1's log:" >&2
    tail -20 "$WORK/n1/log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "   converged after $((SECONDS - start)) s"
echo
echo "== bmx7ctl show originators   (from n1)"
node "$BMX7CTL" --runtime-dir "$WORK/n1/run" show originators
echo
echo "== ip -6 route show table 70   (in n1)"
ip -n "$(ns n1)" -6 route show table 70
echo
echo "== ping n3 from n1 (two hops)"
ip netns exec "$(ns n1)" ping -6 -c 3 -i 0.3 "$(primary n3)" | tail -2
echo
echo "== waiting until n1 tunnels to the gateway n3"
start=$SECONDS
until ip netns exec "$(ns n1)" ping -6 -c 1 -W 1 2001:db8:1::2 >/dev/null 2>&1 &&
  ip netns exec "$(ns n1)" ping -4 -c 1 -W 1 192.0.2.2 >/dev/null 2>&1; do
  if [ $((SECONDS - start)) -ge "$TIMEOUT_S" ]; then
    echo "demo: no tunnel within ${TIMEOUT_S} s; n1's log:" >&2
    tail -20 "$WORK/n1/log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "   tunnel up after $((SECONDS - start)) s"
echo
echo "== bmx7ctl show tunnels   (from n1)"
node "$BMX7CTL" --runtime-dir "$WORK/n1/run" show tunnels
echo
echo "== ip route get 2001:db8:1::2 / 192.0.2.2   (in n1: into the tunnel device)"
ip -n "$(ns n1)" -6 route get 2001:db8:1::2 | head -1
ip -n "$(ns n1)" route get 192.0.2.2 | head -1
echo
echo "== ping the uplink host through the tunnel, IPv6 and IPv4"
ip netns exec "$(ns n1)" ping -6 -c 3 -i 0.3 2001:db8:1::2 | tail -2
ip netns exec "$(ns n1)" ping -4 -c 3 -i 0.3 192.0.2.2 | tail -2
echo
echo "== stopping the daemons and removing the mesh"
