#!/usr/bin/env bash
# Switchyard's benchmark, side by side with the reference stacks on this machine, in one run.
#
#   bench/run.sh [SECONDS]
#
# Guest-to-guest TCP through the switch (issue 3's yardstick): two namespaces on one Switchyard
# network run iperf3 against each other, next to two namespaces joined by a plain veth pair
# (the kernel's own path: the ceiling). Measured at MTU 1500 and at 65520 (what slirp4netns and
# pasta use on their TAP). Everything stays on this machine: namespaces made here, no routes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
SECS=${1:-${SECS:-5}}
# shellcheck source=/dev/null
source "$root/../shared/bench/peers.sh" 2>/dev/null || source "${PEERS_SH:-/work/shared/bench/peers.sh}"
peers_install

id=$RANDOM
tmp=$(mktemp -d /tmp/yard-bench.XXXXXX)
daemon_pid=""
cleanup() {
  for ns in "sya$id" "syb$id" "vea$id" "veb$id"; do ip netns del "$ns" 2>/dev/null || true; done
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

iperf_pair() { # NS_SERVER SERVER_IP NS_CLIENT -> Gbit/s
  ip netns exec "$1" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  ip netns exec "$3" iperf3 -c "$2" -p 5201 -t "$SECS" -f g -J 2>/dev/null |
    awk -F'[:,]' '/"sum_received"/{f=1} f&&/bits_per_second/{printf "%.2f\n",$2/1e9; exit}'
  wait "$srv" 2>/dev/null || true
}

veth_pair() { # MTU -> Gbit/s
  local mtu=$1
  ip netns add "vea$id"; ip netns add "veb$id"
  ip link add v0 netns "vea$id" mtu "$mtu" type veth peer name v1 netns "veb$id" mtu "$mtu"
  ip -n "vea$id" addr add 10.203.0.1/24 dev v0; ip -n "veb$id" addr add 10.203.0.2/24 dev v1
  ip -n "vea$id" link set v0 up; ip -n "veb$id" link set v1 up
  iperf_pair "veb$id" 10.203.0.2 "vea$id"
  ip netns del "vea$id"; ip netns del "veb$id"
}

yard() { "$root/yard" --socket "$tmp/yard.sock" "$@"; }

switchyard_pair() { # MTU -> Gbit/s
  local mtu=$1 net="bench$mtu"
  ip netns add "sya$id"; ip netns add "syb$id"
  yard network create "$net" --subnet "10.204.$((mtu % 200)).0/24" --mtu "$mtu" --dns-upstream none >/dev/null
  yard endpoint attach "$net" a --netns "sya$id" --configure >/dev/null
  yard endpoint attach "$net" b --netns "syb$id" --configure >/dev/null
  iperf_pair "syb$id" "10.204.$((mtu % 200)).3" "sya$id"
  yard endpoint detach "$net" a; yard endpoint detach "$net" b; yard network rm "$net"
  ip netns del "sya$id"; ip netns del "syb$id"
}

"$root/yard" --help >/dev/null   # build once, outside the measurement
"$root/yard" daemon --state-dir "$tmp/state" --socket "$tmp/yard.sock" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$tmp/yard.sock" ] && break; sleep 0.1; done

printf '%-28s %10s %10s %8s\n' "guest-to-guest TCP" "veth Gb/s" "yard Gb/s" "ratio"
for mtu in ${MTUS:-1500 65520}; do
  v=$(veth_pair "$mtu"); s=$(switchyard_pair "$mtu")
  printf '%-28s %10s %10s %8s\n' "iperf3, MTU $mtu" "$v" "$s" "$(awk -v a="$s" -v b="$v" 'BEGIN{ if (b>0) printf "%.2fx", a/b; else print "-" }')"
done
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), ${SECS}s per run"
