#!/usr/bin/env bash
# Switchyard's benchmark, side by side with the reference stacks on this machine, in one run.
#
#   bench/run.sh [SECONDS]                      every section, SECONDS per measurement (default 5)
#   BENCH=peers,rss bench/run.sh 3              only some sections
#   BASELINE=DIR bench/run.sh                   also measure the daemon of another checkout DIR (e.g. a git
#                                               worktree of the previous release) in the same run: a "baseline"
#                                               row/column next to "switchyard" and the ratio of the two, so a
#                                               change is compared on the same machine at the same moment
#
# Sections (BENCH, comma-separated; default all):
#   g2g    Guest-to-guest TCP through the switch (issue 3's yardstick): two namespaces on one Switchyard
#          network run iperf3 against each other, next to two namespaces joined by a plain veth pair (the
#          kernel's own path: the ceiling), at MTU 1500 and 65520 (what slirp4netns and pasta use on their TAP).
#   peers  Guest <-> host through each stack: veth, slirp4netns, pasta and Switchyard's NAT (a `nat` network,
#          the guest reaching the host's loopback servers through the gateway's address: host loopback) at MTU
#          65520, then veth and Switchyard again at MTU 1500; the workloads of shared/bench/peers.sh, plus the
#          CPU-seconds the stack's own process (our daemon, slirp4netns, pasta; the kernel's veth has none) spent
#          per GB moved in tx and rx (utime+stime from /proc/PID/stat around each iperf3 run). Then issue 15's
#          targets against veth at the same MTU and against pasta's and slirp4netns's CPU cost, and issue 5's.
#   rss    The daemon's resident memory with 1,000 idle NAT flows open, and again once they drained (a guest holding 1,000 TCP connections
#          to a server on the host's 127.0.0.1 through the gateway).
#   egress Issue 7's cost of an egress allowlist: TCP throughput and new connections/s from a guest to
#          "bench.example" (a name a local dnsmasq on 127.0.0.1 resolves to an address on a veth
#          made here, where peers.sh's servers listen) through a nat network with `--egress deny --allow
#          bench.example` (DNS pinning and the HTTP Host check on every connection), next to the same
#          network without a policy.
#   xhost  Issue 14's cross-host row: two "hosts" (two namespaces joined by a veth underlay, MTU 1500) and a
#          guest on each, iperf3 between the guests at MTU 1450 (1500 minus VXLAN's 50 bytes). The kernel's path:
#          a `vxlan` device bridged to the guest's veth in each host namespace. Switchyard's: a daemon in each host
#          namespace, host A's network in nat mode with `--vxlan`, host B's `--mode bridged:vxlan` (its guest leases
#          from host A), then the ratio (target >= 0.5x). docs/multi-host.md keeps the numbers.
#   vm     Issue 15's VM socket path (bench/vm.sh): a TAP without offloads behind bench/relay (a VM's virtio-net
#          stand-in) to passt's unix socket and to our stream, dgram and UDP transports, MTU 1500 and 65520: tx, rx,
#          rr p50, crr, the stack's CPU-seconds per GB, and each of ours against passt (target >= 1.0x tx, rx, crr).
# A stack that passes no traffic shows "-" (and so does any ratio that needs it); the run goes on.
# Everything stays on this machine: namespaces made here, servers on loopback, no host routes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
SECS=${1:-${SECS:-5}}
BENCH=${BENCH:-g2g,peers,rss,egress,xhost,vm}
# shellcheck source=/dev/null
source "$root/../shared/bench/peers.sh" 2>/dev/null || source "${PEERS_SH:-/work/shared/bench/peers.sh}"
peers_install

id=$RANDOM
tmp=$(mktemp -d /tmp/yard-bench.XXXXXX)
daemon_pid=""
base_pid=""
servers_started=""
bg_pids=()
nsn=0
cleanup() {
  set +e
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$servers_started" ] && servers_down
  for ns in $(ip netns list | awk -v p="yb$id" 'index($1, p) == 1 {print $1}') "sya$id" "syb$id" "vea$id" "veb$id"; do
    ip netns del "$ns" 2>/dev/null
  done
  ip link del "ybd$id" 2>/dev/null
  # The xhost section's daemons (bench/xhost.sh) left their PIDs in $tmp/x*.pid.
  for p in $daemon_pid $base_pid $(cat "$tmp"/x*.pid 2>/dev/null); do
    if kill "$p" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  rm -rf "$tmp" "$PEERS_TMP"
}
trap cleanup EXIT

want() { [[ ",$BENCH," == *",$1,"* ]]; }

# Every yard call is bounded: a daemon that stops answering must not hang the run. YARD_SOCK picks the daemon
# (the baseline's, with BASELINE): the CLI and API are the same for both.
yard() { timeout 60 "$root/yard" --socket "${YARD_SOCK:-$tmp/yard.sock}" "$@"; }

# --- g2g: guest to guest through the switch ---------------------------------------------------

iperf_pair() { # NS_SERVER SERVER_IP NS_CLIENT -> Gbit/s
  ip netns exec "$1" timeout $((SECS + 30)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  ip netns exec "$3" timeout $((SECS + 20)) iperf3 -c "$2" -p 5201 -t "$SECS" -f g -J 2>/dev/null |
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

baseline_pair() { YARD_SOCK="$tmp/base.sock" switchyard_pair "$@"; }

# --- veth at a given MTU ----------------------------------------------------------------------------
# peers.sh's veth keeps the kernel's default MTU (1500); issue 15 compares each stack with veth at the same MTU,
# so `veth` here is at 65520 (like slirp4netns, pasta and `switchyard`) and `veth1500` at 1500. down_veth is peers.sh's.
up_veth_at() { # MTU NS
  local mtu=$1 ns=$2
  ip netns add "$ns"
  ip link add "b$ns" mtu "$mtu" type veth peer name eth0 netns "$ns" mtu "$mtu"
  ip addr add 10.201.0.1/24 dev "b$ns"; ip link set "b$ns" up
  ip -n "$ns" addr add 10.201.0.2/24 dev eth0; ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
  echo 10.201.0.1
}
up_veth() { up_veth_at 65520 "$1"; }
up_veth1500() { up_veth_at 1500 "$1"; }
down_veth1500() { down_veth "$@"; }

# --- switchyard as a peers.sh stack -------------------------------------------------------------
# up_switchyard NS: a `nat` network named NS on the bench daemon (MTU $SY_MTU, default 65520 like slirp4netns and
# pasta, no DNS forwarding), NS attached with --configure; prints the gateway, through which the guest reaches the
# host's loopback (host loopback). Prints nothing when it could not come up.
up_switchyard() {
  local ns=$1 gw=""
  ip netns add "$ns" || return 0
  yard network create "$ns" --mode nat --mtu "${SY_MTU:-65520}" --dns-upstream none >/dev/null || return 0
  yard endpoint attach "$ns" guest --netns "$ns" --configure >/dev/null || return 0
  for _ in $(seq 50); do
    ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | grep -q ' inet ' && break
    sleep 0.1
  done
  gw=$(yard network inspect "$ns" | sed -n 's/^ *"gateway": "\([0-9.]*\)".*/\1/p')
  ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | grep -q ' inet ' && echo "$gw"
}
# The baseline daemon (BASELINE=DIR) as a stack of its own: the same network, through the other daemon.
up_baseline() { YARD_SOCK="$tmp/base.sock" up_switchyard "$@"; }
down_baseline() { YARD_SOCK="$tmp/base.sock" down_switchyard "$@"; }
# The same at MTU 1500: issue 15's second column of targets.
up_switchyard1500() { SY_MTU=1500 up_switchyard "$@"; }
down_switchyard1500() { down_switchyard "$@"; }
up_baseline1500() { SY_MTU=1500 up_baseline "$@"; }
down_baseline1500() { down_baseline "$@"; }
down_switchyard() {
  local ns=$1
  yard endpoint detach "$ns" guest >/dev/null 2>&1
  yard network rm "$ns" >/dev/null 2>&1
  ip netns del "$ns" 2>/dev/null
  [ -d "/etc/netns/$ns" ] && rm -rf "/etc/netns/$ns"
  return 0
}

# peers.sh's workloads, each in its own process group under `timeout` (which kills the whole group), so a
# stack that passes no traffic costs seconds, not a TCP connect's two minutes.
export SECS
export -f tcp_tx tcp_rx tcp_rr tcp_crr
bounded() { timeout -k 5 $((SECS + 30)) bash -c '"$@"' bounded "$@" 2>/dev/null || true; }

# A quick look before the real workloads: nginx on the host answers (with any HTTP status) through the stack.
reachable() {
  local code
  code=$(ip netns exec "$1" timeout 10 curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 5 "http://$2:8089/" 2>/dev/null) || true
  [ -n "$code" ] && [ "$code" != 000 ]
}

row() { printf '%-15s %6s %8s %8s %9s %9s %9s %9s\n' "$@"; }
peers_header() { row stack MTU 'tx Gb/s' 'rx Gb/s' 'rr p50 us' 'crr/s' 'tx cpu/GB' 'rx cpu/GB'; }

# stack_pid STACK NS: the PID of the process that is the stack (whose CPU time the cpu/GB columns count), or nothing
# (veth: the kernel's path has no process of its own). Our daemon serves every network from one process.
stack_pid() {
  case $1 in
    veth*) ;;
    switchyard*) echo "$daemon_pid" ;;
    baseline*) echo "$base_pid" ;;
    slirp4netns | pasta) cat "$PEERS_TMP/$2.pid" 2>/dev/null ;;
  esac
}
stack_mtu() { case $1 in *1500) echo 1500 ;; *) echo 65520 ;; esac; }

# cpu_ticks PID: utime + stime of the whole process (every thread), in clock ticks: fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name (which may hold spaces).
cpu_ticks() { if [ -n "$1" ]; then sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; fi; return 0; }
CLK_TCK=$(getconf CLK_TCK)

# cpu_per_gb BEFORE AFTER GBITS: CPU-seconds per GB moved (GB = Gbit/s x SECS / 8, what iperf3 reported), or "-".
cpu_per_gb() {
  awk -v b="$1" -v a="$2" -v g="$3" -v s="$SECS" -v hz="$CLK_TCK" 'BEGIN {
    if (b == "" || a == "" || g == "" || g == "-" || g + 0 == 0) { print "-"; exit }
    printf "%.2f\n", ((a - b) / hz) / (g * s / 8) }'
}

# measure_row STACK: one namespace through STACK, the four workloads and the stack process's CPU time around the
# two iperf3 runs; prints the row and appends it to $tmp/peers (stack tx rx rr crr txcpu rxcpu mtu).
measure_row() {
  local stack=$1 ns gw="" tx="" rx="" rr="" crr="" txcpu="" rxcpu="" pid c0 c1
  nsn=$((nsn + 1)); ns="yb$id$nsn"
  gw=$("up_$stack" "$ns" 2>>"$tmp/up.log") || gw=""
  if [ -n "$gw" ] && reachable "$ns" "$gw"; then
    pid=$(stack_pid "$stack" "$ns")
    c0=$(cpu_ticks "$pid"); tx=$(bounded tcp_tx "$ns" "$gw"); c1=$(cpu_ticks "$pid")
    if [ -n "$pid" ]; then txcpu=$(cpu_per_gb "$c0" "$c1" "$tx"); fi
    c0=$(cpu_ticks "$pid"); rx=$(bounded tcp_rx "$ns" "$gw"); c1=$(cpu_ticks "$pid")
    if [ -n "$pid" ]; then rxcpu=$(cpu_per_gb "$c0" "$c1" "$rx"); fi
    rr=$(bounded tcp_rr "$ns" "$gw"); crr=$(bounded tcp_crr "$ns" "$gw")
  elif [ -n "$gw" ]; then
    echo "$stack: no traffic to the host through $gw" >>"$tmp/up.log"
  else
    echo "$stack: did not come up" >>"$tmp/up.log"
  fi
  "down_$stack" "$ns" >/dev/null 2>&1 || true
  row "$stack" "$(stack_mtu "$stack")" "${tx:--}" "${rx:--}" "${rr:--}" "${crr:--}" "${txcpu:--}" "${rxcpu:--}"
  echo "$stack ${tx:--} ${rx:--} ${rr:--} ${crr:--} ${txcpu:--} ${rxcpu:--} $(stack_mtu "$stack")" >>"$tmp/peers"
}

# cell STACK COLUMN(2=tx 3=rx 4=rr 5=crr 6=tx cpu/GB 7=rx cpu/GB) -> the measured value or "-"
cell() { awk -v s="$1" -v c="$2" '$1 == s { print $c; found = 1 } END { if (!found) print "-" }' "$tmp/peers"; }

# target LABEL A B OP GOAL: the ratio A/B and whether it meets "ratio OP GOAL" (OP is >= or <=).
target() {
  awk -v label="$1" -v a="$2" -v b="$3" -v op="$4" -v goal="$5" 'BEGIN {
    if (a == "-" || b == "-" || b + 0 == 0) { printf "%-36s %7s   target %s %s\n", label, "-", op, goal; exit }
    r = a / b; ok = (op == ">=") ? (r >= goal) : (r <= goal)
    printf "%-36s %6.2fx   target %s %s   %s\n", label, r, op, goal, ok ? "met" : "MISSED" }'
}

# --- rss: the daemon with 1,000 idle NAT flows ------------------------------------------------

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "-"; }

# A server on the host's loopback that accepts and holds every connection (at most 120 s); prints its port first.
HOLD_SERVER='
import socket, sys, time, resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4096); srv.settimeout(1)
print(srv.getsockname()[1], flush=True)
held, end = [], time.monotonic() + 120
while time.monotonic() < end:
    try: held.append(srv.accept()[0])
    except socket.timeout: pass
'
# In the guest: N connections to HOST:PORT, then prints how many connected and holds them (at most HOLD s).
HOLD_CLIENT='
import socket, sys, time, resource
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 256, hard), hard))
held, end = [], time.monotonic() + 60
try:
    while len(held) < n and time.monotonic() < end:
        held.append(socket.create_connection((host, port), timeout=5))
except OSError as e:
    print("guest connections to the host through the gateway:", e, file=sys.stderr)
print(len(held), flush=True)
time.sleep(hold)
'

# rss_section LABEL PID STACK: STACK is switchyard or baseline (which daemon's network the guest is on).
rss_section() {
  local label=$1 pid=$2 stack=$3 ns gw port="" n="-" before after="-" drained="-"
  nsn=$((nsn + 1)); ns="yb$id$nsn"
  python3 -c "$HOLD_SERVER" >"$tmp/hold-server.out" 2>&1 &
  local server=$!; bg_pids+=("$server")
  for _ in $(seq 50); do port=$(head -n1 "$tmp/hold-server.out" 2>/dev/null); [ -n "$port" ] && break; sleep 0.1; done
  gw=$("up_$stack" "$ns" 2>>"$tmp/up.log") || gw=""
  before=$(rss_mb "$pid")
  if [ -n "$gw" ] && [ -n "$port" ]; then
    ip netns exec "$ns" python3 -c "$HOLD_CLIENT" "$gw" "$port" 1000 60 >"$tmp/hold-client.out" 2>>"$tmp/up.log" &
    local client=$!; bg_pids+=("$client")
    for _ in $(seq 700); do n=$(head -n1 "$tmp/hold-client.out" 2>/dev/null); [ -n "$n" ] && break; sleep 0.1; done
    n=${n:--}
    sleep 1
    after=$(rss_mb "$pid")
    kill "$client" 2>/dev/null; wait "$client" 2>/dev/null || true
    # The flows drain (the guest's sockets closed with it); memory should come back near where it was (issue 16).
    sleep 10
    drained=$(rss_mb "$pid")
  fi
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
  "down_$stack" "$ns"
  printf '%-36s %s MB\n' "$label VmRSS, before the flows" "$before"
  printf '%-36s %s MB   (%s connections open; target <= 64 MB)%s\n' "$label VmRSS, 1,000 idle NAT flows" "$after" "$n" \
    "$(awk -v a="$after" -v n="$n" 'BEGIN { if (a != "-" && n == 1000) print (a <= 64 ? "   met" : "   MISSED") }')"
  printf '%-36s %s MB   (10 s after the flows closed; target <= before + 10 MB)%s\n' "$label VmRSS, flows drained" "$drained" \
    "$(awk -v b="$before" -v d="$drained" 'BEGIN { if (b != "-" && d != "-") print (d <= b + 10 ? "   met" : "   MISSED") }')"
}

# --- egress: an allowlisted network next to the same network without a policy ------------------

EGRESS_ADDR=198.18.250.1   # RFC 2544 benchmarking range, on a veth made (and removed) here: a host address that is not loopback

# egress_row KEY LABEL [EGRESS-OPTIONS...]: a nat network whose resolver is the bench's dnsmasq, a guest
# attached with --configure (so it resolves through the gateway), tx and crr to bench.example.
egress_row() {
  local key=$1 label=$2 ns tx="" crr=""; shift 2
  nsn=$((nsn + 1)); ns="yb$id$nsn"
  if ip netns add "$ns" && yard network create "$ns" --mode nat --mtu 65520 --dns-upstream "127.0.0.1:$egress_dns_port" "$@" >/dev/null \
     && yard endpoint attach "$ns" guest --netns "$ns" --configure >/dev/null; then
    for _ in $(seq 50); do ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | grep -q ' inet ' && break; sleep 0.1; done
    if ip netns exec "$ns" timeout 10 curl -s -o /dev/null --max-time 5 "http://bench.example:8089/"; then
      tx=$(bounded tcp_tx "$ns" bench.example); crr=$(bounded tcp_crr "$ns" bench.example)
    else
      echo "$label: no traffic to bench.example" >>"$tmp/up.log"
    fi
  else
    echo "$label: did not come up" >>"$tmp/up.log"
  fi
  down_switchyard "$ns"
  printf '%-22s %8s %9s\n' "$label" "${tx:--}" "${crr:--}"
  echo "$key ${tx:--} ${crr:--}" >>"$tmp/egress"
}

egress_section() {
  ip link add "ybd$id" type veth peer name "ybe$id" && ip link set "ybe$id" up && ip addr add "$EGRESS_ADDR/32" dev "ybd$id" && ip link set "ybd$id" up || return 0
  egress_dns_port=$((20000 + RANDOM % 20000))
  # From a subshell, so it is no job of this shell (servers_down ends with a bare `wait`).
  ( dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --bind-interfaces --listen-address=127.0.0.1 \
      --port="$egress_dns_port" --address="/bench.example/$EGRESS_ADDR" --local-ttl=3600 --pid-file= 2>>"$tmp/up.log" &
    echo $! >"$tmp/dnsmasq.pid" )
  local dns; dns=$(cat "$tmp/dnsmasq.pid"); bg_pids+=("$dns")
  servers_up; servers_started=1
  : >"$tmp/egress"
  echo "egress allowlist: guest -> bench.example ($EGRESS_ADDR on a host veth)"
  printf '%-22s %8s %9s\n' network 'tx Gb/s' 'crr/s'
  egress_row open "nat, no policy"
  egress_row allow "nat, allowlist" --egress deny --allow bench.example
  servers_down || true; servers_started=""
  kill "$dns" 2>/dev/null
  ip link del "ybd$id" 2>/dev/null
  echo
  ecell() { awk -v k="$1" -v c="$2" '$1 == k { print $c; found = 1 } END { if (!found) print "-" }' "$tmp/egress"; }
  target "allowlist tx / no-policy tx" "$(ecell allow 2)" "$(ecell open 2)" ">=" 0.9
  target "allowlist crr / no-policy crr" "$(ecell allow 3)" "$(ecell open 3)" ">=" 0.9
}

# --- the run --------------------------------------------------------------------------------

"$root/yard" --help >/dev/null   # build once, outside the measurement
# The daemon as shipped: the NativeAOT build (packaging/build-native.sh); YARD_DAEMON=jit measures the JIT build.
daemon_of() { if [ "${YARD_DAEMON:-native}" = jit ]; then echo "$1/yard"; else "$1/packaging/build-native.sh"; fi; }
# start_daemon BIN NAME: its own state directory and socket ($tmp/NAME.sock); prints its PID. Started from a
# subshell, so it is no job of this shell: peers.sh's servers_down ends with a bare `wait`.
start_daemon() {
  ( "$1" daemon --state-dir "$tmp/$2-state" --socket "$tmp/$2.sock" >"$tmp/$2.log" 2>&1 & echo $! >"$tmp/$2.pid" )
  for _ in $(seq 100); do [ -S "$tmp/$2.sock" ] && break; sleep 0.1; done
  cat "$tmp/$2.pid"
}
daemon_bin=$(daemon_of "$root")
echo "daemon: $daemon_bin"
daemon_pid=$(start_daemon "$daemon_bin" yard)
if [ -n "${BASELINE:-}" ]; then
  BASELINE=$(cd "$BASELINE" && pwd)
  "$BASELINE/yard" --help >/dev/null
  base_bin=$(daemon_of "$BASELINE")
  echo "baseline: $base_bin ($(git -C "$BASELINE" log -1 --format='%h %s' 2>/dev/null || echo "$BASELINE"))"
  base_pid=$(start_daemon "$base_bin" base)
fi

# compare LABEL A B: the ratio switchyard/baseline, no target (the baseline is the yardstick).
compare() {
  awk -v label="$1" -v a="$2" -v b="$3" 'BEGIN {
    if (a == "-" || b == "-" || b + 0 == 0) printf "%-36s %7s\n", label, "-"; else printf "%-36s %6.2fx\n", label, a / b }'
}

if want g2g; then
  if [ -n "$base_pid" ]; then
    printf '%-28s %10s %10s %13s %10s %8s\n' "guest-to-guest TCP" "veth Gb/s" "yard Gb/s" "ratio (>=0.8)" "base Gb/s" "yard/base"
  else
    printf '%-28s %10s %10s %13s\n' "guest-to-guest TCP" "veth Gb/s" "yard Gb/s" "ratio (>=0.8)"
  fi
  for mtu in ${MTUS:-1500 65520}; do
    v=$(veth_pair "$mtu"); s=$(switchyard_pair "$mtu")
    # Issue 15's target: >= 0.8x veth at both MTUs.
    ratio=$(awk -v a="${s:--}" -v b="${v:--}" 'BEGIN{ if (a != "-" && b > 0) printf "%.2fx %s", a/b, (a/b >= 0.8 ? "met" : "MISSED"); else print "-" }')
    if [ -n "$base_pid" ]; then
      b=$(baseline_pair "$mtu")
      printf '%-28s %10s %10s %13s %10s %8s\n' "iperf3, MTU $mtu" "${v:--}" "${s:--}" "$ratio" "${b:--}" \
        "$(awk -v a="${s:--}" -v b="${b:--}" 'BEGIN{ if (a != "-" && b != "-" && b > 0) printf "%.2fx", a/b; else print "-" }')"
    else
      printf '%-28s %10s %10s %13s\n' "iperf3, MTU $mtu" "${v:--}" "${s:--}" "$ratio"
    fi
  done
  echo
fi

if want peers; then
  servers_up; servers_started=1
  : >"$tmp/peers"
  echo "guest <-> host through each stack"
  peers_header
  for s in ${STACKS:-veth slirp4netns pasta switchyard ${base_pid:+baseline} veth1500 switchyard1500 ${base_pid:+baseline1500}}; do
    measure_row "$s"
  done
  servers_down || true; servers_started=""
  echo "(cpu/GB: CPU-seconds of the stack's own process per GB moved; veth is the kernel's, no process)"
  echo
  echo "issue 15: against veth at the same MTU, and CPU cost"
  target "tx / veth tx, MTU 65520" "$(cell switchyard 2)" "$(cell veth 2)" ">=" 0.8
  target "tx / veth tx, MTU 1500" "$(cell switchyard1500 2)" "$(cell veth1500 2)" ">=" 0.8
  target "rx / veth rx, MTU 65520" "$(cell switchyard 3)" "$(cell veth 3)" ">=" 1.0
  target "rx / veth rx, MTU 1500" "$(cell switchyard1500 3)" "$(cell veth1500 3)" ">=" 0.8
  target "rr p50 / veth rr p50, MTU 65520" "$(cell switchyard 4)" "$(cell veth 4)" "<=" 1.1
  target "rr p50 / veth rr p50, MTU 1500" "$(cell switchyard1500 4)" "$(cell veth1500 4)" "<=" 1.1
  target "crr / veth crr, MTU 65520" "$(cell switchyard 5)" "$(cell veth 5)" ">=" 0.6
  target "crr / veth crr, MTU 1500" "$(cell switchyard1500 5)" "$(cell veth1500 5)" ">=" 0.6
  target "tx cpu/GB / pasta's" "$(cell switchyard 6)" "$(cell pasta 6)" "<=" 0.7
  target "tx cpu/GB / slirp4netns's" "$(cell switchyard 6)" "$(cell slirp4netns 6)" "<=" 0.7
  target "rx cpu/GB / pasta's" "$(cell switchyard 7)" "$(cell pasta 7)" "<=" 0.7
  target "rx cpu/GB / slirp4netns's" "$(cell switchyard 7)" "$(cell slirp4netns 7)" "<=" 0.7
  echo "issue 5: against the peers (MTU 65520)"
  target "switchyard tx / slirp4netns tx" "$(cell switchyard 2)" "$(cell slirp4netns 2)" ">=" 2.0
  target "switchyard rx / pasta rx" "$(cell switchyard 3)" "$(cell pasta 3)" ">=" 1.0
  target "switchyard rr p50 / pasta rr p50" "$(cell switchyard 4)" "$(cell pasta 4)" "<=" 1.0
  target "switchyard crr / slirp4netns crr" "$(cell switchyard 5)" "$(cell slirp4netns 5)" ">=" 1.25
  if [ -n "$base_pid" ]; then
    for m in "" 1500; do
      compare "switchyard$m tx / baseline$m tx" "$(cell "switchyard$m" 2)" "$(cell "baseline$m" 2)"
      compare "switchyard$m rx / baseline$m rx" "$(cell "switchyard$m" 3)" "$(cell "baseline$m" 3)"
      compare "switchyard$m rr p50 / baseline$m rr" "$(cell "switchyard$m" 4)" "$(cell "baseline$m" 4)"
      compare "switchyard$m crr / baseline$m crr" "$(cell "switchyard$m" 5)" "$(cell "baseline$m" 5)"
      compare "switchyard$m tx cpu/GB / baseline$m" "$(cell "switchyard$m" 6)" "$(cell "baseline$m" 6)"
      compare "switchyard$m rx cpu/GB / baseline$m" "$(cell "switchyard$m" 7)" "$(cell "baseline$m" 7)"
    done
  fi
  [ -s "$tmp/up.log" ] && sed 's/^/  note: /' "$tmp/up.log"
  : >"$tmp/up.log"
  echo
fi

if want egress; then
  egress_section
  [ -s "$tmp/up.log" ] && sed 's/^/  note: /' "$tmp/up.log"
  : >"$tmp/up.log"
  echo
fi

if want xhost; then
  # shellcheck source=bench/xhost.sh
  source "$here/xhost.sh"
  xhost_section
  [ -s "$tmp/up.log" ] && sed 's/^/  note: /' "$tmp/up.log"
  : >"$tmp/up.log"
  echo
fi

if want vm; then
  # shellcheck source=bench/vm.sh
  source "$here/vm.sh"
  vm_section
  [ -s "$tmp/up.log" ] && sed 's/^/  note: /' "$tmp/up.log"
  : >"$tmp/up.log"
  echo
fi

if want rss; then
  rss_section daemon "$daemon_pid" switchyard
  [ -n "$base_pid" ] && rss_section baseline "$base_pid" baseline
  [ -s "$tmp/up.log" ] && sed 's/^/  note: /' "$tmp/up.log"
  echo
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), ${SECS}s per run"
