# shellcheck shell=bash
# bench/run.sh's xhost section (issue 14): one L2 network across two "hosts", the kernel's VXLAN next to
# Switchyard's. Sourced by run.sh, which defines id, tmp, SECS, yard(), iperf_pair(), target() and daemon_bin; the
# daemons started here leave their PIDs in $tmp/x*.pid, which run.sh's cleanup stops too (this runs in a subshell).
#
# Two host namespaces (A and B) joined by a veth underlay at MTU 1500 (10.205.0.1 and .2), a guest namespace
# behind each. Nothing here touches the machine's own namespace: no host address, no host route, and the VXLAN
# sockets (the kernel's and the daemons') live in the host namespaces.
#
#   kernel     in each host namespace a `vxlan` device (VNI 42, dstport 4789, remote = the other host) and the
#              guest's veth (MTU 1450) on one Linux bridge: the kernel's own path, what flannel's or Docker
#              swarm's overlay use.
#   switchyard a daemon in each host namespace: host A's network is a nat network with `--vxlan 42`, host B's
#              `--mode bridged:vxlan` (no gateway services: its guest's lease comes from host A through the
#              tunnel); both guests on the daemons' TAPs, MTU 1450 (the underlay's 1500 minus 50).
#   baseline   with BASELINE=DIR (run.sh), the same with the other checkout's daemons, right after ours.

XHOST_VNI=42

# xhost_hosts A B: two host namespaces with the underlay veth between them (u0 in both), loopback up.
xhost_hosts() {
  ip netns add "$1"; ip netns add "$2"
  ip -n "$1" link set lo up; ip -n "$2" link set lo up
  ip link add u0 netns "$1" mtu 1500 type veth peer name u0 netns "$2" mtu 1500
  ip -n "$1" addr add 10.205.0.1/24 dev u0; ip -n "$2" addr add 10.205.0.2/24 dev u0
  ip -n "$1" link set u0 up; ip -n "$2" link set u0 up
}

# xhost_kernel_side HOST GUEST LOCAL REMOTE GUEST_IP: the kernel's VTEP in HOST, bridged to GUEST's eth0.
xhost_kernel_side() {
  local h=$1 g=$2
  ip netns add "$g"
  ip -n "$g" link set lo up
  # nolearning is not given: like the daemon, the kernel learns remote MACs from what peers send (RFC 7348 section 4.1).
  ip -n "$h" link add vx0 type vxlan id "$XHOST_VNI" local "$3" remote "$4" dstport 4789
  ip -n "$h" link add br0 type bridge
  ip -n "$h" link set vx0 master br0
  ip link add g0 netns "$h" mtu 1450 type veth peer name eth0 netns "$g" mtu 1450
  ip -n "$h" link set g0 master br0
  ip -n "$h" link set vx0 up; ip -n "$h" link set g0 up; ip -n "$h" link set br0 up
  ip -n "$g" addr add "$5/24" dev eth0
  ip -n "$g" link set eth0 up
}

# xhost_kernel -> "A->B B->A" in Gbit/s ("-" where nothing passed)
xhost_kernel() {
  local a="yb${id}ka" b="yb${id}kb" ga="yb${id}kga" gb="yb${id}kgb" ab ba
  xhost_hosts "$a" "$b"
  xhost_kernel_side "$a" "$ga" 10.205.0.1 10.205.0.2 10.206.0.1
  xhost_kernel_side "$b" "$gb" 10.205.0.2 10.205.0.1 10.206.0.2
  ip netns exec "$ga" ping -c 1 -W 5 10.206.0.2 >/dev/null 2>&1 || echo "kernel: no ping between the guests" >>"$tmp/up.log"
  ab=$(iperf_pair "$gb" 10.206.0.2 "$ga"); ba=$(iperf_pair "$ga" 10.206.0.1 "$gb")
  for ns in "$ga" "$gb" "$a" "$b"; do ip netns del "$ns"; done
  echo "${ab:--} ${ba:--}"
}

# xhost_daemon HOST NAME [BIN]: a daemon (BIN, default the bench's build) in namespace HOST, its socket $tmp/NAME.sock.
xhost_daemon() {
  : >"$tmp/xhost-resolv.conf"
  ( ip netns exec "$1" "${3:-$daemon_bin}" daemon --state-dir "$tmp/$2-state" --socket "$tmp/$2.sock" \
      --resolv-conf "$tmp/xhost-resolv.conf" >"$tmp/$2.log" 2>&1 & echo $! >"$tmp/$2.pid" )
  for _ in $(seq 150); do [ -S "$tmp/$2.sock" ] && YARD_SOCK="$tmp/$2.sock" yard version >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "switchyard: the daemon in $1 did not come up: $(tail -n 3 "$tmp/$2.log")" >>"$tmp/up.log"
  return 1
}

# xhost_stop_daemons: SIGTERM to the daemons started here (by PID), and wait for them.
xhost_stop_daemons() {
  local p f
  for f in "$tmp"/x*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f"); kill "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    rm -f "$f"
  done
}

# xhost_switchyard [BIN] -> "A->B B->A" in Gbit/s (BIN: the daemon to run, default the bench's build; the
# baseline's with BASELINE)
xhost_switchyard() {
  local a="yb${id}sa" b="yb${id}sb" ga="yb${id}sga" gb="yb${id}sgb" ab="" ba="" ipa ipb
  xhost_hosts "$a" "$b"
  ip netns add "$ga"; ip netns add "$gb"
  # The baseline's daemons have state directories and sockets of their own (xc, xd).
  local sa=xa sb=xb
  [ -n "${1:-}" ] && { sa=xc; sb=xd; }
  if xhost_daemon "$a" "$sa" "${1:-}" && xhost_daemon "$b" "$sb" "${1:-}" \
     && YARD_SOCK="$tmp/$sa.sock" yard network create xh --mode nat --subnet 10.207.0.0/24 --dns-upstream none \
          --vxlan "$XHOST_VNI" --vxlan-local 10.205.0.1 --vxlan-peer 10.205.0.2 >/dev/null 2>>"$tmp/up.log" \
     && YARD_SOCK="$tmp/$sb.sock" yard network create xh --mode bridged:vxlan \
          --vxlan "$XHOST_VNI" --vxlan-local 10.205.0.2 --vxlan-peer 10.205.0.1 >/dev/null 2>>"$tmp/up.log" \
     && YARD_SOCK="$tmp/$sa.sock" yard endpoint attach xh a --netns "$ga" --configure >/dev/null 2>>"$tmp/up.log" \
     && YARD_SOCK="$tmp/$sb.sock" yard endpoint attach xh b --netns "$gb" >/dev/null 2>>"$tmp/up.log"; then
    # Host B's guest leases from host A's gateway through the tunnel (a real DHCP exchange, like a VM's).
    printf '#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/24" dev "$interface"\nexit 0\n' >"$tmp/xhost-dhcp.sh"
    chmod +x "$tmp/xhost-dhcp.sh"
    ip netns exec "$gb" timeout 30 busybox udhcpc -i eth0 -q -n -t 10 -T 1 -s "$tmp/xhost-dhcp.sh" >/dev/null 2>&1 ||
      echo "switchyard: host B's guest got no lease from host A" >>"$tmp/up.log"
    for _ in $(seq 50); do ip -n "$ga" -4 -o addr show dev eth0 2>/dev/null | grep -q ' inet ' && break; sleep 0.1; done
    ipa=$(ip -n "$ga" -4 -o addr show dev eth0 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}')
    ipb=$(ip -n "$gb" -4 -o addr show dev eth0 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}')
    if [ -n "$ipa" ] && [ -n "$ipb" ]; then
      ip netns exec "$ga" ping -c 1 -W 5 "$ipb" >/dev/null 2>&1 || echo "switchyard: no ping between the guests" >>"$tmp/up.log"
      ab=$(iperf_pair "$gb" "$ipb" "$ga"); ba=$(iperf_pair "$ga" "$ipa" "$gb")
    fi
  fi
  xhost_stop_daemons
  for ns in "$ga" "$gb" "$a" "$b"; do ip netns del "$ns" 2>/dev/null; done
  echo "${ab:--} ${ba:--}"
}

xhost_ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "-" && b != "-" && b > 0) printf "%.2fx", a/b; else print "-" }'; }

xhost_section() {
  local k s b="" head
  k=$(xhost_kernel); s=$(xhost_switchyard)
  # With BASELINE, the other checkout's daemons on the same two hosts, right after ours.
  [ -n "${base_bin:-}" ] && b=$(xhost_switchyard "$base_bin")
  head=$(printf '%-28s %12s %10s %8s' "cross-host TCP, MTU 1450" "kernel Gb/s" "yard Gb/s" "ratio")
  [ -n "$b" ] && head+=$(printf ' %10s %10s' "base Gb/s" "yard/base")
  echo "$head"
  xhost_line() {
    printf '%-28s %12s %10s %8s' "$1" "$2" "$3" "$(xhost_ratio "$3" "$2")"
    [ -n "$b" ] && printf ' %10s %10s' "$4" "$(xhost_ratio "$3" "$4")"
    echo
  }
  xhost_line "iperf3, guest A -> guest B" "${k% *}" "${s% *}" "${b% *}"
  xhost_line "iperf3, guest B -> guest A" "${k#* }" "${s#* }" "${b#* }"
  echo
  target "yard / kernel vxlan, A -> B" "${s% *}" "${k% *}" ">=" 0.5
  target "yard / kernel vxlan, B -> A" "${s#* }" "${k#* }" ">=" 0.5
}
