# shellcheck shell=bash
# bench/run.sh's scale section (issue 15): many flows and many guests on one daemon. Sourced by run.sh, which
# defines id, tmp, SECS, daemon_bin, rss_mb(), target(), bounded() and peers.sh's servers_up/servers_down and
# tcp_crr. The daemon measured here is a fresh one of its own (the bench's build). It leaves its PID in
# $tmp/xscale.pid, which run.sh's cleanup stops too (as it does the xhost section's daemons).
#
#   flows   four guests each open 2,500 TCP connections to a server on the host's loopback (through their
#           gateway's address) and hold them: 10,000 NAT flows. The daemon's VmRSS before, with the flows, and
#           once they drained; and a fifth guest's new connections/s (wrk, Connection: close, peers.sh's nginx)
#           without the flows and with them (target >= 0.9x; RSS <= 64 MB). The guests are on two nat networks
#           (MTU 65520, --configure), guests 1, 2 and the fifth on one, 3 and 4 on the other: a network may hold
#           half the daemon's descriptor budget (docs/security.md "Fair shares"), and the daemon runs with the
#           limit this shell has (the systemd unit gives it 1,048,576; a container without CAP_SYS_RESOURCE may be
#           held at 20,000: 9,000 flows a network, 2,250 for an endpoint's default quarter). So the four holders are
#           attached with `--max-flows` of their own; no default is raised.
#   guests  128 namespaces attached to one nat network, then every guest's DHCP client started at once (busybox
#           udhcpc, the script the suite and `yard demo` use): the time until the last one is leased (target
#           <= 10 s), a sample of guest pairs pinging each other (target 100%), and the daemon's VmRSS.

SCALE_GUESTS=${SCALE_GUESTS:-128}
SCALE_FLOWS=${SCALE_FLOWS:-10000}
SCALE_PAIRS=${SCALE_PAIRS:-64}

# yard on the scale daemon's socket: the native binary is the CLI too, and starts in milliseconds (128 attaches).
syard() { timeout 60 "$daemon_bin" --socket "$tmp/xscale.sock" "$@"; }

scale_daemon_start() {
  : >"$tmp/xscale-resolv.conf"
  ( ulimit -Sn "$(ulimit -Hn)"
    "$daemon_bin" daemon --state-dir "$tmp/xscale-state" --socket "$tmp/xscale.sock" \
      --resolv-conf "$tmp/xscale-resolv.conf" >"$tmp/xscale.log" 2>&1 & echo $! >"$tmp/xscale.pid" )
  for _ in $(seq 100); do [ -S "$tmp/xscale.sock" ] && break; sleep 0.1; done
  cat "$tmp/xscale.pid"
}

scale_daemon_stop() {
  local p; p=$(cat "$tmp/xscale.pid" 2>/dev/null) || return 0
  if kill "$p" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$tmp/xscale.pid"
}

# A server on the host's loopback that accepts every connection and holds it until the client closes it (as a
# real server would: then the flow ends both ways and the daemon's count drains); at most 180 s. Prints its port.
SCALE_SERVER='
import resource, selectors, socket, time
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # 10,000 held connections
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4096); srv.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(srv, selectors.EVENT_READ)
print(srv.getsockname()[1], flush=True)
end = time.monotonic() + 180
while time.monotonic() < end:
    for key, _ in sel.select(1):
        if key.fileobj is srv:
            try: c = srv.accept()[0]
            except BlockingIOError: continue
            c.setblocking(False); sel.register(c, selectors.EVENT_READ)
        else:
            try: data = key.fileobj.recv(4096)
            except BlockingIOError: continue
            except ConnectionError: data = b""
            if not data: sel.unregister(key.fileobj); key.fileobj.close()
'

# scale_flows_section PID: the flows row on the scale daemon PID.
scale_flows_section() {
  local pid=$1 net="yb${id}sf" port="" i per before="-" after="-" drained="-" crr0="" crr1="" crr2="" n=0
  local per_guest=$((SCALE_FLOWS / 4)) gws=()
  # Guest i's network: "a" for 1, 2 and 5, "b" for 3 and 4.
  netof() { case $1 in 3|4) echo "${net}b" ;; *) echo "${net}a" ;; esac; }
  for w in a b; do
    syard network create "$net$w" --mode nat --mtu 65520 --dns-upstream none >/dev/null || { echo "scale: no network" >>"$tmp/up.log"; return 0; }
  done
  for i in 1 2 3 4 5; do
    local cap=(); [ "$i" -le 4 ] && cap=(--max-flows $((per_guest + 100)))
    ip netns add "$net$i" && syard endpoint attach "$(netof "$i")" "g$i" --netns "$net$i" --configure "${cap[@]}" >/dev/null ||
      { echo "scale: guest $i did not attach" >>"$tmp/up.log"; return 0; }
  done
  for i in 1 2 3 4 5; do
    for _ in $(seq 50); do ip -n "$net$i" -4 -o addr show dev eth0 2>/dev/null | grep -q ' inet ' && break; sleep 0.1; done
    gws[i]=$(syard network inspect "$(netof "$i")" | sed -n 's/^ *"gateway": "\([0-9.]*\)".*/\1/p')
  done
  local gw=${gws[5]}
  python3 -c "$SCALE_SERVER" >"$tmp/scale-server.out" 2>&1 &
  local server=$!; bg_pids+=("$server")
  for _ in $(seq 50); do port=$(head -n1 "$tmp/scale-server.out" 2>/dev/null); [ -n "$port" ] && break; sleep 0.1; done
  servers_up; servers_started=1
  before=$(rss_mb "$pid")
  crr0=$(bounded tcp_crr "${net}5" "$gw")
  local clients=()
  for i in 1 2 3 4; do
    ip netns exec "$net$i" python3 -c "$HOLD_CLIENT" "${gws[i]}" "$port" "$per_guest" $((SECS * 2 + 60)) >"$tmp/scale-client$i.out" 2>>"$tmp/up.log" &
    clients+=($!); bg_pids+=($!)
  done
  for i in 1 2 3 4; do
    for _ in $(seq 900); do [ -s "$tmp/scale-client$i.out" ] && break; sleep 0.1; done
    per=$(head -n1 "$tmp/scale-client$i.out" 2>/dev/null); n=$((n + ${per:-0}))
  done
  sleep 1
  after=$(rss_mb "$pid")
  crr1=$(bounded tcp_crr "${net}5" "$gw")
  for c in "${clients[@]}"; do kill "$c" 2>/dev/null; wait "$c" 2>/dev/null || true; done
  # The flows drain (each guest's sockets closed with its client; the server closes its side on EOF): wait until the
  # networks hold none (at most 60 s), then 12 s for MemoryReturn (it looks every 5 s and waits for a settled count) before reading the memory.
  local left="" t_close; t_close=$(date +%s)
  for _ in $(seq 120); do
    left=$(for w in a b; do syard network inspect "$net$w" 2>/dev/null | sed -n 's/^ *"tcpFlows": \([0-9]*\).*/\1/p'; done | awk '{ n += $1 } END { print n + 0 }')
    [ "$left" = 0 ] && break
    sleep 0.5
  done
  local drain_s=$(( $(date +%s) - t_close ))
  sleep 12
  drained=$(rss_mb "$pid")
  crr2=$(bounded tcp_crr "${net}5" "$gw")
  # The holding server first: servers_down ends with a bare `wait`, which would wait for it.
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
  servers_down || true; servers_started=""
  for i in 1 2 3 4 5; do syard endpoint detach "$(netof "$i")" "g$i" >/dev/null 2>&1; ip netns del "$net$i" 2>/dev/null; done
  syard network rm "${net}a" >/dev/null 2>&1; syard network rm "${net}b" >/dev/null 2>&1
  # The yardstick is the run before the flows: the run after them measures something else (a daemon that just closed
  # 10,000 flows; docs/performance.md "Memory and scale"), so it is printed, not averaged in.
  printf '%-44s %s MB\n' "VmRSS, fresh daemon, 5 guests, no traffic" "$before"
  printf '%-44s %s MB   (%s connections open; target <= 64 MB)%s\n' "VmRSS, $SCALE_FLOWS NAT flows from 4 guests" "$after" "$n" \
    "$(awk -v a="$after" -v n="$n" -v want="$SCALE_FLOWS" 'BEGIN { if (a != "-" && n == want) print (a <= 64 ? "   met" : "   MISSED") }')"
  printf '%-44s %s MB   (%s flows left %s s after the guests closed them, then 12 s)\n' "VmRSS, flows drained" "$drained" "${left:--}" "$drain_s"
  printf '%-44s %s / %s / %s\n' "fifth guest crr/s: before / with / after them" "${crr0:--}" "${crr1:--}" "${crr2:--}"
  target "fifth guest crr with / before the flows" "${crr1:--}" "${crr0:--}" ">=" 0.9
}

# scale_guests_section PID: the guests row on the scale daemon PID.
scale_guests_section() {
  local pid=$1 net="yb${id}sg" i t0 t1 t2 leased=0 ok=0 tried=0 script="$tmp/udhcpc.script"
  cp "$root/src/Switchyard.Cli/Guest/udhcpc.script" "$script"; chmod +x "$script"
  syard network create "$net" --mode nat --subnet 10.207.0.0/24 --dns-upstream none >/dev/null || { echo "scale: no network" >>"$tmp/up.log"; return 0; }
  for i in $(seq "$SCALE_GUESTS"); do ip netns add "$net$i"; done
  t0=$(date +%s.%N)
  # Eight API calls at a time: "started at once" from a client's side (the daemon serialises what it must).
  seq "$SCALE_GUESTS" | xargs -P 8 -I{} timeout 60 "$daemon_bin" --socket "$tmp/xscale.sock" endpoint attach "$net" "g{}" --netns "$net{}" \
    >/dev/null 2>>"$tmp/up.log"
  t1=$(date +%s.%N)
  local dhcp=()
  for i in $(seq "$SCALE_GUESTS"); do
    ip netns exec "$net$i" env YARD_NETNS="$net$i" busybox udhcpc -i eth0 -f -q -n -t 20 -T 1 -s "$script" >/dev/null 2>&1 &
    dhcp+=($!)
  done
  for p in "${dhcp[@]}"; do wait "$p" 2>/dev/null || true; done
  t2=$(date +%s.%N)
  local addrs=()
  for i in $(seq "$SCALE_GUESTS"); do
    addrs[i]=$(ip -n "$net$i" -4 -o addr show dev eth0 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
    [ -n "${addrs[i]}" ] && leased=$((leased + 1))
  done
  # Sampled all-pairs ping: SCALE_PAIRS random ordered pairs of leased guests, 16 at a time.
  : >"$tmp/scale-pairs"
  for _ in $(seq "$SCALE_PAIRS"); do
    local a=$((RANDOM % SCALE_GUESTS + 1)) b=$((RANDOM % SCALE_GUESTS + 1))
    [ "$a" = "$b" ] && b=$((a % SCALE_GUESTS + 1))
    [ -n "${addrs[a]}" ] && [ -n "${addrs[b]}" ] && echo "$net$a ${addrs[b]}" >>"$tmp/scale-pairs"
  done
  tried=$(wc -l <"$tmp/scale-pairs")
  ok=$(xargs -P 16 -L 1 sh -c 'ip netns exec "$0" ping -c 1 -W 3 "$1" >/dev/null 2>&1 && echo ok' <"$tmp/scale-pairs" | grep -c ok || true)
  local rss; rss=$(rss_mb "$pid")
  for i in $(seq "$SCALE_GUESTS"); do ip netns del "$net$i" 2>/dev/null; rm -rf "/etc/netns/$net$i"; done
  printf '%-44s %6.2f s\n' "$SCALE_GUESTS guests attached (8 API calls at a time)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  printf '%-44s %6.2f s   (%s/%s leased; target <= 10 s)%s\n' "all DHCP clients started at once, last leased" \
    "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" "$leased" "$SCALE_GUESTS" \
    "$(awk -v a="$t1" -v b="$t2" -v l="$leased" -v n="$SCALE_GUESTS" 'BEGIN { print (l == n && b - a <= 10) ? "   met" : "   MISSED" }')"
  printf '%-44s %s/%s   (target 100%%)%s\n' "sampled guest pairs pinging" "$ok" "$tried" \
    "$(awk -v o="$ok" -v t="$tried" -v want="$SCALE_PAIRS" 'BEGIN { print (t == want && o == t) ? "   met" : "   MISSED" }')"
  printf '%-44s %s MB\n' "VmRSS with $SCALE_GUESTS guests" "$rss"
}

scale_section() {
  local pid
  pid=$(scale_daemon_start)
  if ! kill -0 "$pid" 2>/dev/null || [ ! -S "$tmp/xscale.sock" ]; then
    echo "scale: the daemon did not start: $(tail -n 3 "$tmp/xscale.log" 2>/dev/null)" >>"$tmp/up.log"
    return 0
  fi
  echo "scale: a fresh daemon (fd limit $(awk '/Max open files/ { print $4 }' "/proc/$pid/limits"))"
  scale_flows_section "$pid"
  scale_guests_section "$pid"
  scale_daemon_stop
}
