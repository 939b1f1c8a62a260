#!/usr/bin/env bash
# Switchyard's soak: hostile guests and callers against one daemon for MINUTES, then a report.
#
#   bench/soak.sh [MINUTES]            default 10
#   YARD_DAEMON=jit bench/soak.sh 2    the JIT build instead of the NativeAOT one (packaging/build-native.sh)
#   GUESTS=8 FLOODERS=2 RESTART_EVERY=90 bench/soak.sh 10
#   YARD_BIN="dotnet path/to/yard.dll" bench/soak.sh 2    a daemon built elsewhere (e.g. a test project's output)
#
# What runs at once (all bounded by MINUTES, each command by a timeout):
#   networks  "flood" (nat) with FLOODERS flooding guests, a control guest and GUESTS/2 mixed guests;
#             "calm" (nat) with a control guest, GUESTS/2 mixed guests and two published ports.
#   control   each control guest, once a second: an HTTP fetch from a host server through the NAT, a DNS
#             lookup of a guest's name at the gateway, a ping of the gateway. Success rates are the report's
#             headline: the calm network must stay at 100%, the flooded one at >= 95%.
#   mixed     guests ping each other, look each other up, fetch through the NAT, renew DHCP (busybox udhcpc).
#   floods    from the flooders: TCP connections held by the thousand, UDP from thousands of source ports,
#             random DNS queries, fast pings of the gateway; a stream endpoint whose peer reconnects with bad
#             framing in a loop (its log lines must stay bounded).
#   API churn networks created and removed, namespaces attached and detached, ports published and
#             unpublished, inspect/flows/leases/metrics read, in a loop.
#   restarts  every RESTART_EVERY seconds: leases and published ports are read, the daemon is killed with
#             SIGKILL and started again; what it has afterwards is compared (lost leases, lost publishes).
#   watch     every 2 s: /health within 5 s (else a hang), the daemon still alive (else a crash: restarted and
#             counted), its open fds, RSS and threads (high-water marks).
# Control probes that overlap a restart (from the kill until /health answers, plus 3 s) are not counted;
# the report says how many were left out.
#
# Traffic goes only to namespaces made here and to servers this script starts on 127.0.0.1 (an HTTP server
# and a UDP sink), reached through the gateway's host-loopback address; networks use --dns-upstream none,
# so no query leaves the machine. Everything made here is removed on exit (also on Ctrl+C).
# Needs root, python3, curl, busybox, dig, ping, ss.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
MINUTES=${1:-${MINUTES:-10}}
GUESTS=${GUESTS:-8}
FLOODERS=${FLOODERS:-2}
RESTART_EVERY=${RESTART_EVERY:-$(( MINUTES * 60 / 5 > 30 ? MINUTES * 60 / 5 : 30 ))}
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root (namespaces, TAP devices)" >&2; exit 2; }
for tool in python3 curl busybox dig ping ss; do command -v "$tool" >/dev/null || { echo "soak: needs $tool" >&2; exit 2; }; done

id=$((RANDOM % 900 + 100))
tmp=$(mktemp -d /tmp/yard-soak.XXXXXX)
sock="$tmp/yard.sock"
state="$tmp/state"
end=$(( $(date +%s) + 3600 )) # set again once everything is up: MINUTES of load, not of setup
bg_pids=()
daemon_pid=""
ns_prefix="sk$id"

cleanup() {
  set +e
  touch "$tmp/stop"
  # Each loop's running command first (by parent PID), then the loop itself.
  for p in "${bg_pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for ns in $(ip netns list | awk -v p="$ns_prefix" 'index($1, p) == 1 {print $1}'); do
    ip netns pids "$ns" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  # A loop may have made a namespace while it was being stopped: once more.
  for ns in $(ip netns list | awk -v p="$ns_prefix" 'index($1, p) == 1 {print $1}'); do ip netns del "$ns" 2>/dev/null; rm -rf "/etc/netns/$ns"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the daemon --------------------------------------------------------------------------------------
daemon_bin() {
  if [ -n "${YARD_BIN:-}" ]; then echo "$YARD_BIN"
  elif [ "${YARD_DAEMON:-native}" = jit ]; then "$root/yard" version >/dev/null; echo "$root/yard" # built once, before the clock runs
  else "$root/packaging/build-native.sh"; fi
}
read -r -a bin <<<"$(daemon_bin)"
echo "soak: $MINUTES min, daemon ${bin[*]}, $GUESTS mixed guests, $FLOODERS flooders, a restart every ${RESTART_EVERY}s, in $tmp"

api() { # METHOD PATH [JSON] -> body; fails on HTTP >= 400 or after 10 s
  curl -sS --fail-with-body --max-time 10 --unix-socket "$sock" -X "$1" ${3:+-H 'Content-Type: application/json' -d "$3"} "http://yard$2"
}
start_daemon() {
  "${bin[@]}" daemon --state-dir "$state" --socket "$sock" >>"$tmp/daemon.log" 2>&1 &
  daemon_pid=$!
  echo "$daemon_pid" >"$tmp/daemon.pid"
  for _ in $(seq 300); do
    api GET /health >/dev/null 2>&1 && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "soak: the daemon did not answer within 30 s of its start" >&2
  echo 1 >>"$tmp/start-hangs"
  return 1
}
start_daemon

# --- host servers on loopback --------------------------------------------------------------------------
http_port=$((20000 + id * 10)); udp_port=$((http_port + 1)); pub_a=$((http_port + 2)); pub_b=$((http_port + 3)); tcp_sink_port=$((http_port + 8))
mkdir -p "$tmp/www"; echo ok >"$tmp/www/index.html"
python3 -c '
import http.server, socketserver, sys, os
os.chdir(sys.argv[2])
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    def handle_error(self, request, client_address): pass # resets from the floods are expected
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$http_port" "$tmp/www" 2>/dev/null &
bg_pids+=($!)
# The TCP flood's own sink (accepts and holds, one thread), so the control guests' HTTP server is not the
# bottleneck being measured: the daemon is.
python3 -c '
import socket, sys, collections
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096)
held = collections.deque()
while True:
    c, _ = s.accept(); held.append(c)
    if len(held) > 20000: held.popleft().close()' "$tcp_sink_port" 2>/dev/null &
bg_pids+=($!)
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True: s.recv(65535)' "$udp_port" 2>/dev/null &
bg_pids+=($!)

# --- networks and guests -------------------------------------------------------------------------------
net_flood="${ns_prefix}flood"; net_calm="${ns_prefix}calm"
api POST /networks "{\"name\":\"$net_flood\",\"subnet\":\"10.$((200 + id % 50)).1.0/24\",\"dnsUpstreams\":[\"none\"]}" >/dev/null
api POST /networks "{\"name\":\"$net_calm\",\"subnet\":\"10.$((200 + id % 50)).2.0/24\",\"dnsUpstreams\":[\"none\"]}" >/dev/null
gw_of() { api GET "/networks/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway"])'; }
gw_flood=$(gw_of "$net_flood"); gw_calm=$(gw_of "$net_calm")

guest() { # NET NAME [extra JSON fields]: a namespace attached with --configure
  local ns="$ns_prefix$2"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  api POST "/networks/$1/endpoints" "{\"name\":\"$2\",\"transport\":{\"kind\":\"tap\",\"netns\":\"$ns\",\"configure\":true}${3:-}}" >/dev/null
}
guest "$net_flood" cflood
guest "$net_calm" ccalm ",\"publish\":[\"127.0.0.1:$pub_a:8080\",\"127.0.0.1:$pub_b:8081/udp\"]"
for i in $(seq "$FLOODERS"); do guest "$net_flood" "f$i"; done
mixed=()
for i in $(seq "$GUESTS"); do
  if [ $((i % 2)) -eq 0 ]; then guest "$net_flood" "m$i"; mixed+=("$net_flood:m$i"); else guest "$net_calm" "m$i"; mixed+=("$net_calm:m$i"); fi
done
# A stream endpoint whose peer reconnects with bad framing in a loop (issue 16, finding 8b).
api POST "/networks/$net_calm/endpoints" "{\"name\":\"junk\",\"transport\":{\"kind\":\"stream\",\"listen\":\"$tmp/junk.sock\"}}" >/dev/null

end=$(( $(date +%s) + MINUTES * 60 ))
in_ns() { local ns="$ns_prefix$1"; shift; ip netns exec "$ns" "$@"; }
running() { [ ! -e "$tmp/stop" ] && [ "$(date +%s)" -lt "$end" ]; }
restarting() { [ -e "$tmp/restarting" ]; }

# --- control guests ------------------------------------------------------------------------------------
control() { # NAME GATEWAY DOMAIN-NAME LOG
  while running; do
    local t0 ok=1 kind
    for kind in http dns ping; do
      t0=$(date +%s)
      restarting && { echo "skip $kind" >>"$4"; continue; }
      case $kind in
        http) in_ns "$1" timeout 6 curl -s -o /dev/null --max-time 5 "http://$2:$http_port/" || ok=0 ;;
        dns)  [ -n "$(in_ns "$1" timeout 6 dig +time=2 +tries=2 +short "@$2" "$3" 2>/dev/null)" ] || ok=0 ;;
        ping) in_ns "$1" timeout 6 ping -c1 -W3 "$2" >/dev/null 2>&1 || ok=0 ;;
      esac
      # A probe that overlapped a restart does not count (the flag may have come and gone meanwhile).
      if restarting || [ "$(cat "$tmp/last-restart" 2>/dev/null || echo 0)" -ge "$t0" ]; then echo "skip $kind" >>"$4"
      elif [ $ok = 1 ]; then echo "ok $kind" >>"$4"; else echo "fail $kind $(date +%T)" >>"$4"; fi
      ok=1
    done
    sleep 1
  done
}
control cflood "$gw_flood" "m2.$net_flood.internal" "$tmp/control-flood" & bg_pids+=($!)
control ccalm "$gw_calm" "m1.$net_calm.internal" "$tmp/control-calm" & bg_pids+=($!)

# --- mixed guests --------------------------------------------------------------------------------------
mixed_loop() { # NET NAME
  local gw; [ "$1" = "$net_flood" ] && gw=$gw_flood || gw=$gw_calm
  while running; do
    in_ns "$2" timeout 5 ping -c2 -i0.2 -W2 "$gw" >/dev/null 2>&1 || true
    in_ns "$2" timeout 5 dig +time=1 +tries=1 +short "@$gw" "c${1#"$ns_prefix"}.$1.internal" >/dev/null 2>&1 || true
    in_ns "$2" timeout 6 curl -s -o /dev/null --max-time 5 "http://$gw:$http_port/" || true
    # A DHCP exchange on the side (no configuration applied): DISCOVER/REQUEST from the guest's own MAC.
    in_ns "$2" timeout 10 busybox udhcpc -i eth0 -n -q -t 2 -T 2 -s /bin/true >/dev/null 2>&1 && echo ok >>"$tmp/dhcp" || echo fail >>"$tmp/dhcp"
    sleep $((RANDOM % 3 + 1))
  done
}
for m in "${mixed[@]}"; do mixed_loop "${m%%:*}" "${m#*:}" & bg_pids+=($!); done

# --- floods --------------------------------------------------------------------------------------------
TCP_HOLD='
import socket, sys, time
host, port, n, until = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
while time.time() < until:
    held = []
    for _ in range(n):
        s = socket.socket(); s.setblocking(False)
        try: s.connect_ex((host, port))
        except OSError: pass
        held.append(s)
        if time.time() >= until: break
    time.sleep(5)
    for s in held: s.close()'
UDP_SPRAY='
import socket, sys, time
host, port, n, until = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
while time.time() < until:
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try: s.sendto(b"x" * 64, (host, port))
        except OSError: pass
        socks.append(s)
        if len(socks) >= 900:
            for t in socks: t.close()
            socks = []
    for t in socks: t.close()
    time.sleep(1)'
DNS_SPRAY='
import os, socket, struct, sys, time
host, until = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
while time.time() < until:
    name = b"".join(bytes([len(l)]) + l for l in (os.urandom(6).hex().encode(), b"flood", b"internal")) + b"\0"
    q = struct.pack(">HHHHHH", int.from_bytes(os.urandom(2), "big"), 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
    try: s.sendto(q, (host, 53))
    except OSError: time.sleep(0.01)
    try:
        while True: s.recv(4096)
    except OSError: pass'
BAD_FRAMING='
import os, socket, sys, time
path, until = sys.argv[1], float(sys.argv[2])
while time.time() < until:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(2); s.connect(path)
        s.sendall(b"\xff\xff\xff\xff" + os.urandom(60)); s.recv(1); s.close()
    except OSError: time.sleep(0.05)'
for i in $(seq "$FLOODERS"); do
  in_ns "f$i" timeout $((MINUTES * 60 + 10)) python3 -c "$TCP_HOLD" "$gw_flood" "$tcp_sink_port" 3000 "$end" >/dev/null 2>&1 & bg_pids+=($!)
  in_ns "f$i" timeout $((MINUTES * 60 + 10)) python3 -c "$UDP_SPRAY" "$gw_flood" "$udp_port" 6000 "$end" >/dev/null 2>&1 & bg_pids+=($!)
  in_ns "f$i" timeout $((MINUTES * 60 + 10)) python3 -c "$DNS_SPRAY" "$gw_flood" "$end" >/dev/null 2>&1 & bg_pids+=($!)
  in_ns "f$i" timeout $((MINUTES * 60 + 10)) ping -q -i 0.002 -w $((MINUTES * 60)) "$gw_flood" >/dev/null 2>&1 & bg_pids+=($!)
done
timeout $((MINUTES * 60 + 10)) python3 -c "$BAD_FRAMING" "$tmp/junk.sock" "$end" >/dev/null 2>&1 & bg_pids+=($!)

# --- API churn -----------------------------------------------------------------------------------------
churn() {
  local n=0 net
  while running; do
    n=$((n + 1)); net="${ns_prefix}ch$((n % 4))"
    local t0; t0=$(date +%s)
    if restarting; then sleep 1; continue; fi
    {
      api POST /networks "{\"name\":\"$net\",\"subnet\":\"10.$((200 + id % 50)).$((10 + n % 4)).0/24\",\"dnsUpstreams\":[\"none\"]}" &&
      ip netns add "$ns_prefix${net#"$ns_prefix"}a" 2>/dev/null; ip netns add "$ns_prefix${net#"$ns_prefix"}b" 2>/dev/null
      api POST "/networks/$net/endpoints" "{\"name\":\"a\",\"transport\":{\"kind\":\"tap\",\"netns\":\"$ns_prefix${net#"$ns_prefix"}a\",\"configure\":true}}" &&
      api POST "/networks/$net/endpoints" "{\"name\":\"b\",\"transport\":{\"kind\":\"tap\",\"netns\":\"$ns_prefix${net#"$ns_prefix"}b\"}}" &&
      api POST "/networks/$net/endpoints/a/published" "{\"spec\":\"127.0.0.1:$((pub_b + 1 + n % 4)):80\"}" &&
      api GET "/networks/$net/flows?limit=100" && api GET "/networks/$net/leases" && api GET /metrics && api GET "/networks/$net_flood" &&
      api DELETE "/networks/$net/endpoints/a/published/127.0.0.1:$((pub_b + 1 + n % 4)):80/tcp" &&
      api DELETE "/networks/$net/endpoints/a" && api DELETE "/networks/$net/endpoints/b" && api DELETE "/networks/$net"
    } >/dev/null 2>>"$tmp/churn-errors" && echo ok >>"$tmp/churn" && continue
    # A round a restart cut short does not count; its leftovers are cleared for the next one.
    if restarting || [ "$(cat "$tmp/last-restart" 2>/dev/null || echo 0)" -ge "$t0" ]; then echo skip >>"$tmp/churn"; else echo fail >>"$tmp/churn"; fi
    { api DELETE "/networks/$net/endpoints/a"; api DELETE "/networks/$net/endpoints/b"; api DELETE "/networks/$net"; } >/dev/null 2>&1 || true
  done
}
churn & bg_pids+=($!)

# --- restarts and the watch ----------------------------------------------------------------------------
snapshot() { # -> "net endpoint ipv4" per attached endpoint's lease, and "net endpoint spec" per published port
  for net in "$net_flood" "$net_calm"; do
    api GET "/networks/$net/leases" | python3 -c 'import json,sys
for l in json.load(sys.stdin):
    if l.get("attached"): print("lease", sys.argv[1], l["endpoint"], l["ipv4"])' "$net"
    api GET "/networks/$net/endpoints" | python3 -c 'import json,sys
for e in json.load(sys.stdin):
    for p in e.get("published") or []: print("publish", sys.argv[1], e["name"], p if isinstance(p, str) else p.get("spec"))' "$net"
  done | sort
}
restarts=0; crashes=0; hangs=0; fd_max=0; rss_max=0; threads_max=0; lost_leases=0; lost_publishes=0
sample() {
  local pid=$daemon_pid fds rss thr
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l) || fds=0
  rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null) || rss=0
  thr=$(awk '/^Threads/{print $2}' "/proc/$pid/status" 2>/dev/null) || thr=0
  [ "${fds:-0}" -gt "$fd_max" ] && fd_max=$fds
  [ "${rss:-0}" -gt "$rss_max" ] && rss_max=$rss
  [ "${thr:-0}" -gt "$threads_max" ] && threads_max=$thr
  return 0
}
next_restart=$(( $(date +%s) + RESTART_EVERY ))
while running; do
  sleep 2
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    crashes=$((crashes + 1)); echo "soak: the daemon died on its own at $(date +%T) (see $tmp/daemon.log)" >&2
    cp "$tmp/daemon.log" "/tmp/yard-soak-crash-$id.log" 2>/dev/null || true
    touch "$tmp/restarting"; start_daemon || true; date +%s >"$tmp/last-restart"; sleep 3; rm -f "$tmp/restarting"
    continue
  fi
  sample
  if ! restarting && ! api GET /health >/dev/null 2>&1; then hangs=$((hangs + 1)); echo "soak: /health did not answer within 10 s at $(date +%T)" >&2; fi
  if [ "$(date +%s)" -ge "$next_restart" ] && [ "$(date +%s)" -lt $((end - 20)) ]; then
    before=$(snapshot) || before=""
    touch "$tmp/restarting"
    kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
    start_daemon || true
    restarts=$((restarts + 1))
    after=$(snapshot) || after=""
    lost=$(comm -23 <(echo "$before") <(echo "$after"))
    lost_leases=$((lost_leases + $(grep -c '^lease' <<<"$lost" || true)))
    lost_publishes=$((lost_publishes + $(grep -c '^publish' <<<"$lost" || true)))
    [ -n "$lost" ] && echo "soak: lost across restart $restarts: $lost" >&2
    sleep 3; date +%s >"$tmp/last-restart"; rm -f "$tmp/restarting"
    next_restart=$(( $(date +%s) + RESTART_EVERY ))
  fi
done
touch "$tmp/stop"
sleep 2

# --- report ---------------------------------------------------------------------------------------------
rate() { # FILE KIND -> "ok/total (pct%)"
  local ok total
  ok=$(grep -c "^ok${2:+ $2}" "$1" 2>/dev/null || true); total=$(( ok + $(grep -c "^fail${2:+ $2}" "$1" 2>/dev/null || true) ))
  if [ "$total" -eq 0 ]; then echo "-"; else awk -v o="$ok" -v t="$total" 'BEGIN{printf "%d/%d (%.1f%%)", o, t, 100*o/t}'; fi
}
junk_lines=$(grep -c "junk.sock" "$tmp/daemon.log" || true)
echo
echo "== soak: $MINUTES min, $((GUESTS + FLOODERS + 2)) guests, $FLOODERS flooders =="
printf '%-34s %s\n' "crashes" "$crashes" "hangs (/health > 10 s)" "$hangs" "starts slower than 30 s" "$(cat "$tmp/start-hangs" 2>/dev/null | wc -l)" \
  "kill -9 restarts" "$restarts" "lost leases" "$lost_leases" "lost publishes" "$lost_publishes" \
  "open fds, high-water" "$fd_max" "RSS, high-water (MiB)" "$((rss_max / 1024))" "threads, high-water" "$threads_max" \
  "control, flooded net: all" "$(rate "$tmp/control-flood")" \
  "  http / dns / ping" "$(rate "$tmp/control-flood" http) / $(rate "$tmp/control-flood" dns) / $(rate "$tmp/control-flood" ping)" \
  "control, calm net: all" "$(rate "$tmp/control-calm")" \
  "  http / dns / ping" "$(rate "$tmp/control-calm" http) / $(rate "$tmp/control-calm" dns) / $(rate "$tmp/control-calm" ping)" \
  "control probes left out (restarts)" "$(( $(grep -c '^skip' "$tmp/control-flood" 2>/dev/null || true) + $(grep -c '^skip' "$tmp/control-calm" 2>/dev/null || true) ))" \
  "mixed guests' DHCP exchanges" "$(rate "$tmp/dhcp")" \
  "API churn rounds (cut by restarts)" "$(rate "$tmp/churn") ($(grep -c '^skip' "$tmp/churn" 2>/dev/null || true))" \
  "daemon log lines (all / bad framing)" "$(wc -l <"$tmp/daemon.log") / $junk_lines"
[ -s "$tmp/churn-errors" ] && { echo "first API churn errors:"; sort "$tmp/churn-errors" | uniq -c | sort -rn | head -5; }
grep -h '^fail' "$tmp/control-flood" "$tmp/control-calm" 2>/dev/null | head -5 | sed 's/^/control failure: /' || true
# The exit status: 0 when nothing crashed, hung or was lost (the success rates are for the reader to judge).
[ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ] && [ "$lost_leases" -eq 0 ] && [ "$lost_publishes" -eq 0 ]
