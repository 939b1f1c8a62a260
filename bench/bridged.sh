#!/usr/bin/env bash
# The bridged uplink, measured: why Switchyard joins a LAN with an AF_PACKET socket (docs/bridged.md).
#
#   bench/bridged.sh [SECONDS]        SECONDS per iperf3 run (default 5)
#
# A "LAN" namespace behind a veth pair runs dnsmasq (DHCP) and iperf3 -s. Then, on the host end of that veth:
#   afpacket   a guest namespace (TAP) on a network bridged to it by the daemon: guest -> switch -> AF_PACKET
#              socket -> veth -> LAN, with the guest's lease from dnsmasq
#   macvlan    a macvlan of the same veth moved into a namespace: the kernel's own path, which is what a
#              macvtap handed straight to a VM gives (no daemon, no switch, no anti-spoofing)
# Both directions (guest sends; -R: LAN sends). Everything stays in namespaces made here: no host routes,
# no host addresses, nothing leaves the machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
SECS=${1:-${SECS:-5}}
YARD=${YARD:-$root/src/Switchyard.Cli/bin/Release/net10.0/yard}
id=$RANDOM
tmp=$(mktemp -d /tmp/yard-bridged.XXXXXX)
lan=ybl$id guest=ybg$id mv=ybm$id hostif=ybh$id
net=10.254.$((id % 200 + 20))
daemon_pid="" dnsmasq_pid="" iperf_pid=""
cleanup() {
  set +e
  for p in $iperf_pid $dnsmasq_pid; do kill "$p" 2>/dev/null; done
  if [ -n "$daemon_pid" ]; then
    timeout 10 "$YARD" --socket "$tmp/yard.sock" endpoint detach br g1 >/dev/null 2>&1
    kill "$daemon_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for ns in "$lan" "$guest" "$mv"; do ip netns del "$ns" 2>/dev/null; done
  ip link del "$hostif" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
yard() { timeout 60 "$YARD" --socket "$tmp/yard.sock" "$@"; }

iperf() { # NS [-R] -> Gbit/s received
  ip netns exec "$1" timeout $((SECS + 20)) iperf3 -c "$net.1" -t "$SECS" -f g -J ${2:-} 2>/dev/null |
    awk -F'[:,]' '/"sum_received"/{f=1} f&&/bits_per_second/{printf "%.2f\n",$2/1e9; exit}'
}

# The LAN.
ip netns add "$lan"
ip link add "$hostif" type veth peer name eth0 netns "$lan"
ip link set "$hostif" up
ip -n "$lan" link set lo up
ip -n "$lan" addr add "$net.1/24" dev eth0
ip -n "$lan" link set eth0 up
ip netns exec "$lan" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --port=0 --pid-file= --user=root \
  --interface=eth0 --bind-interfaces --dhcp-range="$net.100,$net.150,255.255.255.0,1h" --dhcp-leasefile="$tmp/leases" \
  >/dev/null 2>&1 &
dnsmasq_pid=$!
ip netns exec "$lan" iperf3 -s >/dev/null 2>&1 &
iperf_pid=$!

# afpacket: the daemon's bridged network.
: >"$tmp/resolv.conf"
"$YARD" daemon --socket "$tmp/yard.sock" --state-dir "$tmp/state" --resolv-conf "$tmp/resolv.conf" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$tmp/yard.sock" ] && yard version >/dev/null 2>&1 && break; sleep 0.1; done
yard network create br --mode "bridged:$hostif" >/dev/null
ip netns add "$guest"
yard endpoint attach br g1 --netns "$guest" >/dev/null
printf '#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/24" dev "$interface"\nexit 0\n' >"$tmp/dhcp.sh"
chmod +x "$tmp/dhcp.sh"
ip netns exec "$guest" timeout 30 busybox udhcpc -i eth0 -q -n -t 5 -T 1 -s "$tmp/dhcp.sh" >/dev/null 2>&1
lease=$(ip -n "$guest" -4 -br addr show eth0 | awk '{print $3}')

# macvlan: the kernel's path on the same veth.
ip netns add "$mv"
ip link add "$mv" link "$hostif" type macvlan mode bridge
ip link set "$mv" netns "$mv"
ip -n "$mv" addr add "$net.60/24" dev "$mv"
ip -n "$mv" link set "$mv" up
sleep 1

echo "bridged uplink on a veth, iperf3 TCP ${SECS}s, Gbit/s (guest lease from dnsmasq: $lease)"
printf '%-10s %12s %12s\n' path guest-to-LAN LAN-to-guest
printf '%-10s %12s %12s\n' afpacket "$(iperf "$guest")" "$(iperf "$guest" -R)"
printf '%-10s %12s %12s\n' macvlan "$(iperf "$mv")" "$(iperf "$mv" -R)"
