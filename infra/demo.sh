#!/usr/bin/env bash
# The README's main job: a small BMX7 mesh of bmx7d nodes in network namespaces.
#
#   n1 [eth1] ──veth── [eth1] n2 [eth2] ──veth── [eth1] n3
#
# Starts bmx7d in each namespace (own key, runtime directory and descSqn file under a scratch
# directory), waits until n1 routes to both others, shows `bmx7ctl show originators` from n1,
# pings n3 from n1 across two hops, and removes everything again (on every exit path).
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
  for n in "${NODES[@]}"; do ip netns del "$TAG-$n" 2>/dev/null; done
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

declare -A DEVS=([n1]="dev=eth1" [n2]="dev=eth1 dev=eth2" [n3]="dev=eth1")
echo "== starting bmx7d in every node"
for n in "${NODES[@]}"; do
  # shellcheck disable=SC2086
  ip netns exec "$(ns "$n")" node "$BMX7D" runtimeDir="$WORK/$n/run" debug=0 \
    nodeRsaKey=6 /keyPath="$WORK/$n/rsa.der" hostname="demo-$n" ${DEVS[$n]} \
    descSqnPath="$WORK/$n/descSqn" >"$WORK/$n/log" 2>&1 &
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
echo "== stopping the daemons and removing the mesh"
