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
# uplink's networks, n1 searches them) and pings the uplink host through the plain tunnel, IPv6
# and IPv4. Then the client switches to encrypted tunnels at runtime (`bmx7ctl -c cryptTun=2`; the
# gateway offers WireGuard since its start, cryptTun=1, beside its plain offer): `show tunnels` says
# encrypted, the uplink host answers through the client's WireGuard device, `wg show` of that device
# has a handshake and counters (public keys only: the demo never asks for a private key), the
# gateway's `bmx7ctl show wg` has the client as a peer of its receiving device, and a short capture
# on the relay link n2—n3 holds only WireGuard's UDP to and from the gateway's port.
# Every node serves its metrics (metricsListen) and its live status page (httpListen) on its own
# loopback: the demo prints where to open them and shows a few metric lines; DEMO_HOLD_S=<seconds>
# keeps the mesh up that long at the end, to look at the page (a browser run inside n1's namespace).
# Removes everything again on every exit path: daemons, wireguard-go processes and their sockets
# of this run, namespaces, scratch directory.
# Needs root, iproute2, WireGuard (the kernel's, else wireguard-go) with the wg tool, and a build
# (./infra/setup.sh or pnpm build); tshark for the capture (skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."

BMX7D="$PWD/apps/bmx7d/dist/main.js"
BMX7CTL="$PWD/apps/bmx7ctl/dist/main.js"
TIMEOUT_S=${DEMO_TIMEOUT_S:-40}
# the mesh stays up this long before the teardown (to open the status page)
HOLD_S=${DEMO_HOLD_S:-0}
# every node's metrics and status page, on the loopback of its namespace
METRICS_PORT=9100
HTTP_PORT=8080
# wireguard-go's sockets: one directory for the whole machine, whatever the namespace
WG_RUN=/var/run/wireguard
# the gateway's WireGuard port (bmx7d's default)
WG_PORT=6271

if [ "$(id -u)" != 0 ]; then
  echo "demo: run as root (it creates network namespaces)" >&2
  exit 1
fi
if [ ! -f "$BMX7D" ] || [ ! -f "$BMX7CTL" ]; then
  echo "demo: build first (./infra/setup.sh or pnpm build)" >&2
  exit 1
fi
if ! command -v wg >/dev/null; then
  echo "demo: the wg tool is missing (./infra/setup.sh installs wireguard-tools and wireguard-go)" >&2
  exit 1
fi
if ! command -v wireguard-go >/dev/null && ! modinfo wireguard >/dev/null 2>&1; then
  echo "demo: no WireGuard: neither wireguard-go nor the kernel's (./infra/setup.sh installs wireguard-go)" >&2
  exit 1
fi

# Tunnel device names start with tunDevName. WireGuard devices made by wireguard-go have their
# sockets in one directory per machine, so every node of this run gets a prefix of its own, and
# no other run (a second demo, a test) may share it: "D", a letter free in that directory, the
# node's number (D<letter>1wg_<gateway id> for the client, D<letter>3wgIn for the gateway).
in_use() {
  compgen -G "$WG_RUN/D$1[0-9]*" >/dev/null || pgrep -f "wireguard-go -f D$1[0-9]" >/dev/null
}
letters=(a b c d e f g h i j k m n p q r s t u v w x y z)
PFX=
for i in $(seq 0 $((${#letters[@]} - 1))); do
  l=${letters[$((($$ + i) % ${#letters[@]}))]}
  if ! in_use "$l"; then
    PFX="D$l"
    break
  fi
done
if [ -z "$PFX" ]; then
  echo "demo: every device-name prefix D<letter> is in use in $WG_RUN (other demos running?)" >&2
  exit 1
fi

TAG="b7demo$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bmx7-demo.XXXXXX")
NODES=(n1 n2 n3)
PIDS=()
CAPTURE_PID=

# the wireguard-go processes of this run's devices
wg_go_pids() { pgrep -f "wireguard-go -f ${PFX}[0-9]wg" || true; }

stop_daemons() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  PIDS=()
}

cleanup() {
  set +e
  [ -n "$CAPTURE_PID" ] && { kill -TERM "$CAPTURE_PID"; wait "$CAPTURE_PID"; } 2>/dev/null
  stop_daemons
  # a daemon killed above leaves its wireguard-go behind: end them, by process id
  for pid in $(wg_go_pids); do kill -KILL "$pid" 2>/dev/null; done
  for n in "${NODES[@]}" up; do ip netns del "$TAG-$n" 2>/dev/null; done
  rm -f "$WG_RUN/${PFX}"[0-9]wg*.sock
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns() { echo "$TAG-$1"; }
ctl() { node "$BMX7CTL" --runtime-dir "$WORK/$1/run" "${@:2}"; }
# the device n1 routes an address into
dev_of() { ip -n "$(ns n1)" route get "$1" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1; }
reaches() {
  ip netns exec "$(ns n1)" ping -6 -c 1 -W 1 2001:db8:1::2 >/dev/null 2>&1 &&
    ip netns exec "$(ns n1)" ping -4 -c 1 -W 1 192.0.2.2 >/dev/null 2>&1
}
# pings from n1, shows ping's summary; a lost answer ends the demo with the reason
ping_n1() {
  local out
  if ! out=$(ip netns exec "$(ns n1)" ping -c 3 -i 0.3 -W 2 "$@" 2>&1); then
    tail -3 <<<"$out" >&2
    fail "ping $* from n1 failed"
  fi
  tail -2 <<<"$out"
}
fail() {
  echo "demo: $1; the logs of n1 and n3:" >&2
  for n in n1 n3; do
    echo "--- $n" >&2
    tail -15 "$WORK/$n/log" >&2
  done
  exit 1
}

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
  read -r n dev <<<"$l"
  ip -n "$(ns "$n")" link set "$dev" up
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
# through a tunnel of its own; n1 searches them. n3 offers WireGuard too (cryptTun=1); n1 starts
# plain (cryptTun=0, as the reference) and switches later.
declare -A TUN=(
  [n1]="tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24 tunOut=up6 /network=2001:db8:1::/64 tunOut=up4 /network=192.0.2.0/24"
  [n2]=""
  [n3]="tunDev=dflt /tun6Address=fdaa:3::1/64 /tun4Address=10.3.0.1/24 tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128 tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32 cryptTun=1"
)
echo "== starting bmx7d in every node (tunnel devices named ${PFX}1…, ${PFX}2…, ${PFX}3…)"
for n in "${NODES[@]}"; do
  # shellcheck disable=SC2086
  ip netns exec "$(ns "$n")" node "$BMX7D" runtimeDir="$WORK/$n/run" debug=0 \
    nodeRsaKey=6 /keyPath="$WORK/$n/rsa.der" hostname="demo-$n" ${DEVS[$n]} \
    descSqnPath="$WORK/$n/descSqn" tunDevName="$PFX${n#n}" ${TUN[$n]} \
    metricsListen=$METRICS_PORT httpListen=$HTTP_PORT >"$WORK/$n/log" 2>&1 &
  PIDS+=($!)
done

primary() { ip -n "$(ns "$1")" -6 -o addr show scope global | sed -n 's/.*inet6 \(fd70:[0-9a-f:]*\)\/16.*/\1/p' | head -1; }
routes() { ip -n "$(ns "$1")" -6 route show table 70 2>/dev/null | wc -l; }

echo "== waiting until n1 routes to n2 and n3 (table 70)"
start=$SECONDS
until [ "$(routes n1)" -ge 2 ] && [ "$(routes n3)" -ge 2 ]; do
  [ $((SECONDS - start)) -lt "$TIMEOUT_S" ] || fail "no convergence within ${TIMEOUT_S} s"
  sleep 0.5
done
echo "   converged after $((SECONDS - start)) s"
echo
echo "== bmx7ctl show originators   (from n1)"
ctl n1 show originators
echo
echo "== ip -6 route show table 70   (in n1)"
ip -n "$(ns n1)" -6 route show table 70
echo
echo "== ping n3 from n1 (two hops)"
ping_n1 -6 "$(primary n3)"
echo
echo "== metrics and the status page   (every node, on the loopback of its namespace)"
echo "   status page:  ip netns exec $(ns n1) curl -s http://127.0.0.1:$HTTP_PORT/   (its data: /api/status)"
echo "   metrics:      ip netns exec $(ns n1) curl -s http://127.0.0.1:$METRICS_PORT/metrics"
echo "   in a browser: sudo ip netns exec $(ns n1) chromium --no-sandbox --user-data-dir=\$(mktemp -d) http://127.0.0.1:$HTTP_PORT/"
metrics_n1() {
  ip netns exec "$(ns n1)" curl -sS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E "$1" | sed 's/^/   /' ||
    fail "no metrics from n1 on 127.0.0.1:$METRICS_PORT"
}
if command -v curl >/dev/null; then
  echo "   from n1 now:"
  metrics_n1 '^bmx7_(originators|links|routes|descriptions) |^bmx7_frames_received_total\{type="(HELLO_ADV|OGM_ADV)"'
else
  echo "   (no curl here: ./infra/setup.sh installs it)"
fi
echo
echo "== waiting until n1 tunnels to the gateway n3"
start=$SECONDS
until reaches; do
  [ $((SECONDS - start)) -lt "$TIMEOUT_S" ] || fail "no tunnel within ${TIMEOUT_S} s"
  sleep 0.5
done
echo "   tunnel up after $((SECONDS - start)) s"
echo
echo "== bmx7ctl show tunnels   (from n1)"
ctl n1 show tunnels
echo
echo "== ip route get 2001:db8:1::2 / 192.0.2.2   (in n1: into the tunnel device)"
ip -n "$(ns n1)" -6 route get 2001:db8:1::2 | head -1
ip -n "$(ns n1)" route get 192.0.2.2 | head -1
echo
echo "== ping the uplink host through the tunnel, IPv6 and IPv4"
ping_n1 -6 2001:db8:1::2
ping_n1 -4 192.0.2.2
echo
echo "== bmx7ctl -c cryptTun=2   (n1 at runtime: its tunnels in WireGuard only, never plain)"
ctl n1 -c cryptTun=2 || fail "bmx7ctl -c cryptTun=2 was refused"
echo "== waiting until n1 reaches the uplink through WireGuard"
start=$SECONDS
encrypted() {
  case "$(dev_of 2001:db8:1::2) $(dev_of 192.0.2.2)" in
    "${PFX}1wg_"*" ${PFX}1wg_"*) reaches ;;
    *) return 1 ;;
  esac
}
until encrypted; do
  [ $((SECONDS - start)) -lt "$TIMEOUT_S" ] ||
    fail "no WireGuard tunnel within ${TIMEOUT_S} s (n1 routes into: $(dev_of 192.0.2.2))"
  sleep 0.5
done
WGDEV=$(dev_of 192.0.2.2)
echo "   encrypted tunnel up after $((SECONDS - start)) s"
echo
echo "== bmx7ctl show tunnels   (from n1)"
ctl n1 show tunnels
echo
echo "== ip route get 2001:db8:1::2 / 192.0.2.2   (in n1: into the WireGuard device)"
ip -n "$(ns n1)" -6 route get 2001:db8:1::2 | head -1
ip -n "$(ns n1)" route get 192.0.2.2 | head -1
echo
echo "== ping the uplink host through WireGuard, IPv6 and IPv4"
# meanwhile a capture on the relay link n2—n3 (BMX7's own packets, port 6270, left out); the
# demo goes on without it when tshark is missing or does not start
start_capture() {
  command -v tshark >/dev/null || { echo "   (no tshark: no capture of the relay link)"; return; }
  : >"$WORK/tshark.log"
  ip netns exec "$(ns n2)" tshark -q -i eth2 -f "not udp port 6270" -w "$WORK/relay.pcap" \
    -a duration:30 >"$WORK/tshark.log" 2>&1 &
  CAPTURE_PID=$!
  local t0=$SECONDS
  until grep -q "Capturing on" "$WORK/tshark.log"; do
    if ! kill -0 "$CAPTURE_PID" 2>/dev/null || [ $((SECONDS - t0)) -ge 10 ]; then
      echo "   (tshark did not start capturing: no capture of the relay link)"
      sed 's/^/   tshark: /' "$WORK/tshark.log" | tail -3
      { kill -TERM "$CAPTURE_PID"; wait "$CAPTURE_PID"; } 2>/dev/null || true
      CAPTURE_PID=
      rm -f "$WORK/relay.pcap"
      return
    fi
    sleep 0.2
  done
}
start_capture
ping_n1 -6 2001:db8:1::2
ping_n1 -4 192.0.2.2
if [ -n "$CAPTURE_PID" ]; then
  sleep 0.3
  kill -INT "$CAPTURE_PID" 2>/dev/null || true
  wait "$CAPTURE_PID" || true
  CAPTURE_PID=
fi
echo
echo "== wg show $WGDEV   (in n1: the client's WireGuard device, the gateway n3 its peer)"
ip netns exec "$(ns n1)" wg show "$WGDEV"
echo
echo "== bmx7ctl show wg   (from the gateway n3: the client n1 a peer of ${PFX}3wgIn, allowed only its own networks)"
ctl n3 show wg
echo
if command -v curl >/dev/null; then
  echo "== n1's tunnels in its metrics   (curl http://127.0.0.1:$METRICS_PORT/metrics inside n1)"
  metrics_n1 '^bmx7_(tunnel_info|wg_handshake_age_seconds|wg_psk_epoch)\{'
  echo
fi
if [ -f "$WORK/relay.pcap" ]; then
  # what crossed the relay: everything but BMX7 (left out of the capture) and the link's own
  # neighbour discovery and multicast listener reports
  local_only='icmpv6.type >= 130 && icmpv6.type <= 143'
  tsk() { tshark -r "$WORK/relay.pcap" -Y "!($local_only)${1:+ && $1}" -T fields -E separator=/t "${@:2}" 2>/dev/null; }
  echo "== the relay link n2—n3 meanwhile (tshark on n2 eth2): packets by source → destination"
  tsk "" -e ipv6.src -e udp.srcport -e ipv6.dst -e udp.dstport -e _ws.col.Protocol |
    awk -F'\t' '{ c[(($2 == "") ? $1 " → " $3 " " $5 : "[" $1 "]:" $2 " → [" $3 "]:" $4 " " $5)]++ }
      END { for (k in c) printf "   %3d  %s\n", c[k], k }' | sort -k2
  total=$(tsk "" -e frame.number | wc -l)
  other=$(tsk "!(udp.port == $WG_PORT)" -e frame.number | wc -l)
  if [ "$total" -eq 0 ] || [ "$other" -ne 0 ]; then
    echo "demo: the relay link carried $other of $total packets outside WireGuard's UDP port $WG_PORT" >&2
    exit 1
  fi
  echo "   all $total UDP to or from port $WG_PORT (WireGuard): no ICMP, no IPv4/IPv6-in-IPv6 in clear"
  echo
fi
if [ "$HOLD_S" -gt 0 ]; then
  echo "== the mesh stays up for $HOLD_S s (DEMO_HOLD_S): the status page of n1 is at"
  echo "   http://127.0.0.1:$HTTP_PORT/ inside $(ns n1): ip netns exec $(ns n1) curl -s http://127.0.0.1:$HTTP_PORT/"
  sleep "$HOLD_S"
  echo
fi
echo "== stopping the daemons and removing the mesh"
stop_daemons
left=$(wg_go_pids | wc -l)
socks=$(compgen -G "$WG_RUN/${PFX}[0-9]wg*.sock" | wc -l || true)
if [ "$left" -eq 0 ] && [ "$socks" -eq 0 ]; then
  echo "   no wireguard-go process or WireGuard socket left behind"
else
  echo "demo: warning: $left wireguard-go processes and $socks sockets were left behind; removing them" >&2
fi
